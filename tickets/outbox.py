"""The notification outbox: write rows in the caller's transaction, deliver them after commit.

A row is one message to one recipient on one channel. Senders are registered per channel
(email is built in; the API registers `webhook`), so one delivery loop (tickets/delivery.py)
serves every channel with the same guarantees:

- a row is written in the transaction of the change that caused it, with a unique key
  (ticket, event, sequence, channel, recipient): writing it twice writes it once;
- delivery claims rows with a lease in a short transaction and sends outside it, so two
  workers never send the same row and a slow relay holds no lock;
- a failed attempt is recorded (attempts, last_error, last_attempt_at) and retried after an
  exponential backoff (NOTIFICATION_RETRY_BASE_SECONDS, doubled each time, capped at
  NOTIFICATION_RETRY_MAX_DELAY_SECONDS); after NOTIFICATION_MAX_ATTEMPTS the row is marked
  `failed` (failed_at) and never silently dropped;
- `notifications_deliver_due` is also the sweep: every scan runs it, so a row whose broker
  message was lost goes out on the next pass.
"""

import logging
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from .broker import task_enqueue
from .bulk import rows_insert, values_insert
from .delivery import (
    DeliveryCounts,
    notifications_deliver,
    renderer_register,
    retry_delay,
    sender_for,
    sender_register,
)
from .models import Notification, NotificationHold, Ticket

__all__ = [
    "DeliveryCounts",
    "notification_deliver",
    "notifications_deliver",
    "notifications_deliver_due",
    "notifications_enqueue",
    "notifications_enqueue_many",
    "notifications_enqueue_rows",
    "notifications_held",
    "notifications_requeue",
    "renderer_register",
    "retry_delay",
    "sender_for",
    "sender_register",
]

logger = logging.getLogger(__name__)


def notifications_enqueue(
    *,
    ticket: Ticket | None,
    event: str,
    recipients: Iterable[str],
    subject: str = "",
    body_text: str = "",
    body_html: str = "",
    context: dict | None = None,
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
                context=context or {},
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
    rows_insert(objs=rows, ignore_conflicts=True)
    _delivery_kick_on_commit()


def notifications_enqueue_many(*, rows: list[dict]) -> None:
    """Write one row per recipient for each {ticket_id, event, sequence, context, recipient:
    [emails]} (one context per ticket and event, sent to the database once) with one
    statement, in the caller's transaction; rows whose key exists already are skipped. The
    scan and the escalation ladder use it, so their cost does not grow per recipient."""
    rows = [row for row in rows if row["recipient"]]
    if not rows:
        return
    now = timezone.now()
    hold = _HOLD.get()
    values_insert(
        model=Notification,
        rows=[
            {
                "channel": Notification.Channel.EMAIL,
                **row,
                "next_attempt_at": now,
                "lease_token": hold.token if hold else "",
            }
            for row in rows
        ],
        fan_out="recipient",
        ignore_conflicts=True,
    )
    _delivery_kick_on_commit()


@dataclass
class _Hold:
    token: str
    written: bool = False


_HOLD: ContextVar["_Hold | None"] = ContextVar("notifications_hold", default=None)


@contextmanager
def notifications_held() -> Iterator[None]:
    """Hold back the rows `notifications_enqueue_many` writes inside the block (a scan pass,
    over several transactions and lanes) and hand them all to delivery at its end, so a
    person hears of everything the pass found in one message. The rows are pending under the
    hold's token and delivery passes over them while the hold lasts (`NotificationHold`);
    ending it deletes one row, however many the pass wrote. Any other row written inside the
    block (a webhook) is kicked at its end too, with one kick for the pass. If the process
    dies first, the hold runs out after NOTIFICATION_LEASE_SECONDS and the rows go out."""
    token = "hold" + secrets.token_hex(14)
    now = timezone.now()
    # Holds of passes that died hold nothing any more (delivery looks only at live ones).
    NotificationHold.objects.filter(expires_at__lte=now).delete()
    expires = now + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    NotificationHold.objects.create(token=token, expires_at=expires)
    hold = _Hold(token)
    reset = _HOLD.set(hold)
    try:
        yield
    finally:
        _HOLD.reset(reset)
        NotificationHold.objects.filter(token=token).delete()
        if hold.written:
            _delivery_kick_on_commit()


def notifications_requeue(*, notifications: QuerySet[Notification]) -> int:
    """Put these rows back in the outbox with a fresh retry budget and kick delivery after
    commit (staff's "send again"); returns how many. Attempts go on being numbered (the budget
    counts from `attempts_before_resend`), so each keeps its own number in the evidence. The
    last error stays visible until the next attempt replaces it. A row that went out in a
    grouped message is rendered again, on its own or in the next group."""
    grouped = Q(grouped_with__isnull=False)

    def cleared(name: str) -> Case:
        field = Notification._meta.get_field(name)
        if not isinstance(field, models.Field):
            raise TypeError(f"Notification.{name} is not a column")
        return Case(When(grouped, then=Value("")), default=F(name), output_field=field)

    count = notifications.update(
        subject=cleared("subject"),
        body_text=cleared("body_text"),
        body_html=cleared("body_html"),
        status=Notification.Status.PENDING,
        attempts_before_resend=F("attempts"),
        next_attempt_at=timezone.now(),
        failed_at=None,
        sent_at=None,
        lease_expires_at=None,
        lease_token="",
        grouped_with=None,
    )
    if count:
        _delivery_kick_on_commit()
    return count


def notifications_hold_written() -> bool:
    """Whether rows were written under the current hold (delivery is asked for at its end)."""
    hold = _HOLD.get()
    return hold is not None and hold.written


def notifications_hold_note_written() -> None:
    """Rows were written under the current hold by another process (a scan lane of its own):
    ask for delivery at the hold's end, as for rows written here."""
    hold = _HOLD.get()
    if hold is not None:
        hold.written = True


def _delivery_kick_on_commit() -> None:
    """Ask for one delivery pass once the current transaction commits: one kick per
    transaction, however many enqueue calls it made (a kick registered in a savepoint that
    rolled back is gone from the list, so the next call registers it again). Under a hold
    the hold's end asks instead, once for the whole pass: nothing reaches the broker from
    inside it (a scan lane in a process of its own must not use its parent's connection)."""
    hold = _HOLD.get()
    if hold is not None:
        hold.written = True
        return
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


def notification_deliver(notification_id: int, *, now: datetime | None = None) -> bool:
    """Attempt one pending row whose time has come; True when it went out now."""
    return notifications_deliver(now=now, only=notification_id).sent == 1


def notifications_deliver_due(*, now: datetime | None = None) -> int:
    """Deliver every pending row whose time has come (the sweep); returns how many went out."""
    return notifications_deliver(now=now).sent
