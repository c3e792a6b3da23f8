"""One mail connection for a batch of messages (a delivery pass opens it once per batch)."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

logger = logging.getLogger(__name__)


@contextmanager
def email_session() -> Iterator[Callable[..., None]]:
    """A send function over one mail connection, opened on first use. If opening it fails,
    the rest of the batch fails with the same error instead of waiting on the relay again."""
    connection = get_connection()
    state: dict[str, Any] = {"open": False, "error": None}

    def send(recipient: str, subject: str, text: str, html: str, *, headers: dict) -> None:
        if state["error"] is not None:
            raise state["error"]
        if not state["open"]:
            try:
                connection.open()
            except Exception as exc:
                state["error"] = exc
                raise
            state["open"] = True
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[recipient],
            headers=headers,
            connection=connection,
        )
        if html:
            message.attach_alternative(html, "text/html")
        try:
            message.send(fail_silently=False)
        except Exception:
            _close(connection)  # the next message opens a fresh connection
            state["open"] = False
            raise

    try:
        yield send
    finally:
        if state["open"]:
            _close(connection)


def _close(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # closing a broken connection must not hide the outcome
        logger.warning("Closing the mail connection failed", exc_info=True)
