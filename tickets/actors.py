"""Who acts: the one type every service and selector names its person with.

The portal keeps Django's own user model, so an `Actor` is a signed-in `User`: the services
write it into foreign keys (author, reporter, assignee, history) and read `is_staff` and the
site memberships from it. Selectors answer anonymous visitors too (with nothing), so they take
`Actor | AnonymousUser`, which is also what `request.user` is before the login check.
"""

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

Actor: TypeAlias = User
ActorOrAnonymous: TypeAlias = User | AnonymousUser


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind `login_required` (or the staff check) sees: its user is an
    `Actor`. Only an annotation; the decorator is what makes it true."""

    user: Actor


def request_actor(request: HttpRequest | None) -> Actor:
    """The signed-in person behind `request`, for faces whose signature is fixed by Django
    (admin hooks, forms); refuses an anonymous request rather than passing it on."""
    user = request.user if request is not None else None
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user
