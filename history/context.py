"""Who is changing configuration right now: set by the middleware for each request (the
request's user, read when a version is written, so DRF's token authentication counts) and by
services and commands that know their actor (`history_actor`)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tickets.actors import Actor

_actor: ContextVar[Actor | None] = ContextVar("history_actor", default=None)
_request: ContextVar[Any] = ContextVar("history_request", default=None)
_change_set: ContextVar[str] = ContextVar("history_change_set", default="")
_label: ContextVar[str] = ContextVar("history_label", default="")


@contextmanager
def history_actor(actor: Actor | None, *, label: str = "") -> Iterator[None]:
    """Versions written inside are by `actor` (a user; or None, then named by `label`, e.g.
    the command that made the change) and, when no change set is open, form one."""
    actor_token = _actor.set(actor)
    label_token = _label.set(label)
    set_token = _change_set.set(_change_set.get() or uuid.uuid4().hex)
    try:
        yield
    finally:
        _change_set.reset(set_token)
        _label.reset(label_token)
        _actor.reset(actor_token)


@contextmanager
def history_request(request: Any) -> Iterator[None]:
    """One request: its user is the actor, its saves one change set."""
    request_token = _request.set(request)
    set_token = _change_set.set(uuid.uuid4().hex)
    try:
        yield
    finally:
        _change_set.reset(set_token)
        _request.reset(request_token)


def current_actor() -> Actor | None:
    """The user making the change, or None (the system, a shell, a migration)."""
    actor = _actor.get()
    if actor is not None:
        return actor
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def current_label() -> str:
    return _label.get()


def current_change_set() -> str:
    return _change_set.get()
