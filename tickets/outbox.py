"""The notification outbox: write rows in the caller's transaction, deliver them after commit.

A row is one message to one recipient on one channel. Senders are registered per channel
(email here; the API registers `webhook`), so one delivery loop serves every channel with the
same guarantees:

- a row is written in the transaction of the change that caused it, with a unique key
  (ticket, event, sequence, channel, recipient): writing it twice writes it once;
- delivery claims the row with a row lock (`skip_locked`) and re-checks it is still pending,
  so two workers never send the same row;
- a failed attempt is recorded (attempts, last_error, last_attempt_at) and retried after an
  exponential backoff (NOTIFICATION_RETRY_BASE_SECONDS, doubled each time, capped at
  NOTIFICATION_RETRY_MAX_DELAY_SECONDS); after NOTIFICATION_MAX_ATTEMPTS the row is marked
  `failed` (failed_at) and never silently dropped;
- `notifications_deliver_due` is also the sweep: every scan runs it, so a row whose broker
  message was lost goes out on the next pass.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .broker import task_enqueue
from .email_threading import email_threading_headers
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
        headers=email_threading_headers(notification),
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    message.send(fail_silently=False)


sender_register(Notification.Channel.EMAIL, email_send)


def notifications_enqueue(
    *,
    ticket: Ticket | None,
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
    this twice for the same event sends nothing twice. A row without a ticket (an answer to
    mail that could not be accepted) is keyed by (event, sequence, channel, recipient)."""
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
    _delivery_kick_on_commit()


def notifications_enqueue_rows(*, rows: list[Notification]) -> None:
    """Write prepared rows (several tickets, events and recipients) in one query, in the
    caller's transaction; rows whose key exists already are skipped. Used by the scan, whose
    cost must not grow with the number of tickets it touches."""
    if not rows:
        return
    now = timezone.now()
    for row in rows:
        row.next_attempt_at = row.next_attempt_at or now
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    _delivery_kick_on_commit()


def notifications_requeue(*, notifications: QuerySet[Notification]) -> int:
    """Put these rows back in the outbox with a fresh retry budget and kick delivery after
    commit (staff's "send again"); returns how many. The last error stays visible until the
    next attempt replaces it."""
    count = notifications.update(
        status=Notification.Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        failed_at=None,
        sent_at=None,
    )
    if count:
        _delivery_kick_on_commit()
    return count


def _delivery_kick_on_commit() -> None:
    """Ask for one delivery pass once the current transaction commits: one kick per
    transaction, however many enqueue calls it made (a kick registered in a savepoint that
    rolled back is gone from the list, so the next call registers it again)."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and _delivery_kick in _run_at_this_commit(connection):
        return
    transaction.on_commit(_delivery_kick)


def _run_at_this_commit(connection) -> list:
    """The callbacks the current transaction runs when it commits. A test case wraps each
    test in atomic blocks of its own (Django marks them): there the transaction that matters
    begins at the first block that is not the test's."""
    blocks = connection.atomic_blocks
    first = next((i for i, block in enumerate(blocks) if not block._from_testcase), None)
    if first is None:
        return []
    if first == 0:
        return [func for _, func, _ in connection.run_on_commit]
    sid = connection.savepoint_ids[first - 1]
    return [func for sids, func, _ in connection.run_on_commit if sid is not None and sid in sids]


def _delivery_kick() -> None:
    # A broker outage never fails the request that committed the rows: the sweep sends them.
    task_enqueue(name="tickets.tasks.notifications_deliver_pending")


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: base, 2x base, 4x base..."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS
    delay = base * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(delay, settings.NOTIFICATION_RETRY_MAX_DELAY_SECONDS))


def notification_deliver(notification_id: int, *, now: datetime | None = None) -> bool:
    """Attempt one pending row whose time has come; True when it went out now.

    The row stays locked while its sender runs, so a second worker skips it; a failure is
    recorded and the row rescheduled with backoff, or marked failed after the last attempt.
    """
    with transaction.atomic():
        now = now or timezone.now()
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(
                pk=notification_id,
                status=Notification.Status.PENDING,
                next_attempt_at__lte=now,
            )
            .first()
        )
        if notification is None:
            return False
        notification.attempts += 1
        notification.last_attempt_at = now
        try:
            sender_for(notification.channel)(notification)
        except Exception as exc:  # any sender failure is recorded, never lost
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
                notification.status = Notification.Status.FAILED
                notification.failed_at = now
                notification.next_attempt_at = None
                logger.error(
                    "Notification %s to %s failed for good after %s attempts: %s",
                    notification.pk,
                    notification.recipient,
                    notification.attempts,
                    notification.last_error,
                )
            else:
                notification.next_attempt_at = now + retry_delay(notification.attempts)
                logger.warning(
                    "Notification %s attempt %s failed (%s); retrying at %s",
                    notification.pk,
                    notification.attempts,
                    notification.last_error,
                    notification.next_attempt_at.isoformat(),
                )
                _retry_schedule(notification.pk, notification.next_attempt_at - now)
            notification.save(
                update_fields=[
                    "attempts",
                    "last_attempt_at",
                    "last_error",
                    "status",
                    "failed_at",
                    "next_attempt_at",
                ]
            )
            return False
        notification.status = Notification.Status.SENT
        notification.sent_at = now
        notification.next_attempt_at = None
        notification.save(
            update_fields=["attempts", "last_attempt_at", "status", "sent_at", "next_attempt_at"]
        )
        return True


def _retry_schedule(notification_id: int, delay: timedelta) -> None:
    """Ask a worker to try again after the backoff. If that message is lost, the sweep that
    every scan runs picks the row up once it is due."""

    def kick() -> None:
        from django.conf import settings as live

        if live.CELERY_TASK_ALWAYS_EAGER:
            return  # eager mode would run it at once, before it is due; the sweep retries
        task_enqueue(
            name="tickets.tasks.notification_send",
            args=(notification_id,),
            countdown=delay.total_seconds(),
        )

    transaction.on_commit(kick)


def notifications_deliver_due(*, limit: int = 500, now: datetime | None = None) -> int:
    """Deliver pending rows whose time has come (the sweep); returns how many went out."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(notification_deliver(pk, now=now) for pk in ids)
