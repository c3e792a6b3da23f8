"""Sign-in: by email (usernames still work for staff in admin), throttled by django-axes,
with every failed attempt logged."""

import logging
import time
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

logger = logging.getLogger("portal.auth")


class ThrottledBackend(AxesStandaloneBackend):
    """django-axes' lockout check. Calls without a request (the shell, test clients) never
    come from a browser; they skip the throttle instead of failing."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any):
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def account_for_sign_in(identifier: str):
    """The one account an identifier names: the email address in any case (when exactly one
    account has it) or the exact username; None otherwise."""
    users = get_user_model()._default_manager
    identifier = identifier.strip()
    if "@" in identifier:
        # Emails are not unique in auth_user; one match only, or nobody.
        matches = list(users.filter(email__iexact=identifier)[:2])
        return matches[0] if len(matches) == 1 else None
    return users.filter(username=identifier).first()


def sign_in_identity(request: HttpRequest | None, credentials: dict | None) -> str:
    """What django-axes counts failures against (AXES_USERNAME_CALLABLE): the account, however
    it was spelled and at whichever door (portal, admin, two-factor step), so five failures
    lock the account itself. An identifier that names no account counts as typed, folded."""
    credentials = credentials or {}
    typed = credentials.get("username")
    if typed is None and request is not None:
        typed = getattr(request, "data", request.POST).get("username")
    typed = str(typed or "").strip()[:254]
    user = account_for_sign_in(typed) if typed else None
    if user is not None:
        return f"account:{user.pk}"
    return typed.casefold()


class EmailBackend(ModelBackend):
    """Accepts the email address (any case) in the username field, or the username."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not username or password is None:
            return None
        user = account_for_sign_in(username)
        if user is None:
            # Same work as a real check, so timing does not tell which emails exist.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


@receiver(user_login_failed, dispatch_uid="portal_log_failed_login")
def failed_login_log(sender, credentials: dict, request: HttpRequest | None = None, **kwargs):
    address = request.META.get("REMOTE_ADDR", "?") if request is not None else "?"
    logger.warning(
        "Failed sign-in for %r from %s", str(credentials.get("username", ""))[:254], address
    )


@receiver(user_logged_in, dispatch_uid="portal_session_started")
def session_started(sender, request: HttpRequest | None = None, user=None, **kwargs):
    """The absolute session timeout counts from here."""
    if request is not None and hasattr(request, "session"):
        from .middleware import LAST_SEEN_AT, SIGNED_IN_AT

        now = time.time()
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN_AT] = now
