"""The notification outbox: write rows in the caller's transaction, deliver them after commit.

A row is one message to one recipient on one channel. Senders are registered per channel
(email here; the API registers `webhook`), so one delivery loop serves every channel.

This is the foundation's first cut: the SLA engine adds retries with backoff, the sweep of
rows left pending, and failure handling.
"""

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from .models import Notification, Ticket

logger = logging.getLogger(__name__)

Sender = Callable[[Notification], None]
_SENDERS: dict[str, Sender] = {}


def sender_register(channel: str, sender: Sender) -> None:
    """Make `sender(notification)` deliver rows of this channel; it raises on failure."""
    _SENDERS[channel] = sender


def sender_for(channel: str) -> Sender:
    try:
        return _SENDERS[channel]
    except KeyError:
        raise LookupError(f"No sender is registered for the {channel!r} channel.") from None


def email_send(notification: Notification) -> None:
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    message.send(fail_silently=False)


sender_register(Notification.Channel.EMAIL, email_send)


def notifications_enqueue(
    *,
    ticket: Ticket,
    event: str,
    recipients: Iterable[str],
    subject: str = "",
    body_text: str = "",
    body_html: str = "",
    sequence: int = 0,
    channel: str = Notification.Channel.EMAIL,
) -> None:
    """Write one outbox row per distinct recipient, in the caller's transaction. A row whose
    key (ticket, event, sequence, channel, recipient) exists already is skipped, so calling
    this twice for the same event sends nothing twice."""
    unique = list(dict.fromkeys(r.strip() for r in recipients if r and r.strip()))
    if not unique:
        return
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                ticket=ticket,
                event=event,
                sequence=sequence,
                channel=channel,
                recipient=recipient,
                subject=subject,
                body_text=body_text,
                body_html=body_html,
                next_attempt_at=now,
            )
            for recipient in unique
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(_delivery_kick)


def _delivery_kick() -> None:
    from .tasks import notifications_deliver_pending

    notifications_deliver_pending.delay()


def notification_deliver(notification_id: int) -> bool:
    """Send one pending row; True when it went out now."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .first()
        )
        if notification is None:
            return False
        notification.attempts += 1
        try:
            sender_for(notification.channel)(notification)
        except Exception as exc:  # any sender failure is recorded, never lost
            logger.warning("Delivery of notification %s failed: %s", notification.pk, exc)
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            notification.save(update_fields=["attempts", "last_error"])
            return False
        notification.status = Notification.Status.SENT
        notification.sent_at = timezone.now()
        notification.save(update_fields=["attempts", "status", "sent_at"])
        return True


def notifications_deliver_due(*, limit: int = 500) -> int:
    """Deliver pending rows whose time has come; returns how many went out."""
    ids = list(
        Notification.objects.filter(
            status=Notification.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(notification_deliver(pk) for pk in ids)
