"""Delivery of the outbox: claim with a lease, send outside any transaction, record in one go.

A pass loops over batches until nothing is due:

1. rows whose lease expired (a pass that died mid-send) go back to pending;
2. one short transaction claims a batch of due rows (tickets/claims.py: `skip_locked`, and
   the grouped events' rows a whole recipient at a time, so passes on other workers take
   other rows and other people) and marks them `sending` with a lease token and expiry;
3. with no transaction open, each message is rendered (rows written with a context only) and
   sent; email goes over one mail connection per batch; the pass stops sending before its
   lease runs out and hands back what it did not send;
4. one statement records every outcome (sent with `sent_at`, retry with backoff, failed after
   the last attempt), only on rows that still carry this pass's token.

A row recorded as sent is never claimed again; a row whose pass died is sent once its lease
expires. When the first batch of a pass is full, the pass asks one more worker to join, so N
workers share a burst and drain it.

Grouping: a recipient with several due rows of the events in `GROUPED_EVENTS` gets one
message listing them (at most NOTIFICATION_GROUP_MAX per message); a single row keeps its own
message. Each row stays in the ledger, pointing at the row that carried the grouped message.
A scan pass holds its rows back until it ends (`notifications_held`), so the grouping covers
the whole pass, not whichever of its batches a worker happened to see first.
"""

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from .broker import task_enqueue
from .bulk import rows_update
from .claims import claim, leases_expire
from .email_threading import email_threading_headers
from .mailer import email_session
from .models import Notification
from .models.outbox import is_grouped

logger = logging.getLogger(__name__)

Event = Notification.Event
Status = Notification.Status


# When another pass holds a recipient's claim lock (a claim lasts milliseconds), how often and
# how long a pass that found nothing else waits to look again before it ends.
CONTENDED_WAITS = 40
CONTENDED_WAIT_SECONDS = 0.05

Sender = Callable[[Notification], None]
Render = Callable[[Notification], tuple[str, str, str]]
Item = Callable[[Notification], dict[str, str]]
_SENDERS: dict[str, Sender] = {}
_RENDERERS: dict[str, Render] = {}
_ITEMS: dict[str, Item] = {}

RECORDED_FIELDS = [
    "status",
    "attempts",
    "last_attempt_at",
    "last_error",
    "next_attempt_at",
    "sent_at",
    "failed_at",
    "lease_expires_at",
    "lease_token",
    "subject",
    "body_text",
    "body_html",
    "grouped_with",
]


def sender_register(channel: str, sender: Sender) -> None:
    """Make `sender(notification)` deliver rows of this channel (email is built in); it
    raises on failure."""
    _SENDERS[channel] = sender


def sender_for(channel: str) -> Sender:
    try:
        return _SENDERS[channel]
    except KeyError:
        raise LookupError(f"No sender is registered for the {channel!r} channel.") from None


def renderer_register(event: str, render: Render, *, item: Item | None = None) -> None:
    """Render rows of this event that were written with a context only: `render(row)` gives
    (subject, text, HTML); `item(row)` adds to the row's line in a grouped message."""
    _RENDERERS[event] = render
    if item is not None:
        _ITEMS[event] = item


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: base, 2x base, 4x base..."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS
    delay = base * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(delay, settings.NOTIFICATION_RETRY_MAX_DELAY_SECONDS))


@dataclass
class DeliveryCounts:
    sent: int = 0
    failed: int = 0
    retrying: int = 0

    def add(self, other: "DeliveryCounts") -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.retrying += other.retrying


@dataclass
class _Message:
    """One message to send: one row, or several rows of one recipient grouped."""

    rows: list[Notification]
    error: Exception | None = None
    sent_at: datetime | None = None
    # Rendered by this pass (not before): a failed send clears it, to render at the next.
    rendered: bool = False


def notifications_deliver(
    *, now: datetime | None = None, only: int | None = None
) -> DeliveryCounts:
    """Deliver every outbox row that is due (or only row `only`), batch by batch, until none
    is left; returns how many went out, failed for good, and wait for a retry."""
    now = now or timezone.now()
    counts = DeliveryCounts()
    leases_expire(now=now)
    limit = settings.NOTIFICATION_BATCH_SIZE
    first, waits = True, 0
    while True:
        token = secrets.token_hex(16)
        rows, contended = claim(now=now, token=token, limit=limit, only=only)
        if not rows:
            if contended and waits < CONTENDED_WAITS:
                # Another pass is claiming a recipient this very moment; rows committed after
                # its claim (a scan pass's, released later) are this pass's to send: look again.
                waits += 1
                time.sleep(CONTENDED_WAIT_SECONDS)
                continue
            break
        if first and len(rows) >= limit:
            _helper_kick()
        first = False
        counts.add(_batch_deliver(rows=rows, now=now, token=token))
        if only is not None or (len(rows) < limit and not contended):
            break
    if counts.sent or counts.failed or counts.retrying:
        # Seal these attempts before a retry overwrites their outcome (evidence app, by name).
        task_enqueue(name="evidence.tasks.evidence_seal")
    return counts


def _messages(rows: list[Notification]) -> list[_Message]:
    """Group rows into messages: a recipient's rows of grouped events together (in chunks of
    NOTIFICATION_GROUP_MAX), every other row alone."""
    messages: list[_Message] = []
    groups: dict[str, list[Notification]] = {}
    for row in rows:
        if is_grouped(channel=row.channel, event=row.event):
            groups.setdefault(row.recipient.lower(), []).append(row)
        else:
            messages.append(_Message(rows=[row]))
    size = settings.NOTIFICATION_GROUP_MAX
    for group in groups.values():
        for start in range(0, len(group), size):
            messages.append(_Message(rows=group[start : start + size]))
    return messages


def _batch_deliver(*, rows: list[Notification], now: datetime, token: str) -> DeliveryCounts:
    """Send the claimed rows outside any transaction, then record every outcome at once."""
    lease = settings.NOTIFICATION_LEASE_SECONDS
    stop_at = time.monotonic() + lease - min(30, lease / 5)
    messages = _messages(rows)
    unsent: list[Notification] = []
    with email_session() as email:
        for message in messages:
            if time.monotonic() > stop_at:
                unsent += message.rows
                continue
            try:
                if message.rows[0].channel == Notification.Channel.EMAIL:
                    email(*_render(message), headers=_headers(message.rows))
                else:
                    sender_for(message.rows[0].channel)(message.rows[0])
                message.sent_at = timezone.now()
            except Exception as exc:  # any failure is recorded, never lost
                message.error = exc
    return _outcomes_record(
        messages=[m for m in messages if m.sent_at or m.error],
        unsent=unsent,
        now=now,
        token=token,
    )


def _render(message: _Message) -> tuple[str, str, str, str]:
    """(recipient, subject, text, HTML) of a message; a grouped message lists its rows."""
    rows = message.rows
    if len(rows) == 1:
        row = rows[0]
        if not row.body_text and row.context:
            try:
                render = _RENDERERS[row.event]
            except KeyError:
                raise LookupError(f"No renderer is registered for {row.event!r}.") from None
            row.subject, row.body_text, row.body_html = render(row)
            message.rendered = True
        return row.recipient, row.subject, row.body_text, row.body_html
    labels = dict(Event.choices)
    items = []
    for row in sorted(rows, key=lambda r: (r.event, r.context.get("reference", ""))):
        item = {
            "reference": row.context.get("reference", ""),
            "title": row.context.get("title", ""),
            "link": row.context.get("link", ""),
            "site": row.context.get("site", ""),
            "what": labels.get(row.event, row.event),
        }
        if row.event in _ITEMS:
            item.update(_ITEMS[row.event](row))
        items.append(item)
    counts: dict[str, int] = {}
    for item in items:
        counts[item["what"]] = counts.get(item["what"], 0) + 1
    context = {"items": items, "count": len(items), "support_phone": settings.SUPPORT_PHONE}
    subject = f"{len(items)} tickets need your attention: " + ", ".join(
        f"{n} {what.lower()}" for what, n in counts.items()
    )
    text = render_to_string("emails/grouped.txt", context)
    html = render_to_string("emails/grouped.html", context)
    lead = rows[0]
    lead.subject, lead.body_text, lead.body_html = subject[:300], text, html
    for row in rows[1:]:
        row.subject = lead.subject
        row.body_text = f"Listed in one message with {len(rows) - 1} other(s), sent as #{lead.pk}."
        row.body_html = ""
    for row in rows:
        row.grouped_with = lead
    message.rendered = True
    return lead.recipient, lead.subject, text, html


def _headers(rows: list[Notification]) -> dict[str, str]:
    """Threading headers (Reply-To naming the ticket, Message-ID) of a single ticket's email; a
    grouped message names no single ticket, so replies go to the support mailbox itself."""
    return email_threading_headers(rows[0]) if len(rows) == 1 else {}


def _outcomes_record(
    *, messages: list[_Message], unsent: list[Notification], now: datetime, token: str
) -> DeliveryCounts:
    counts = DeliveryCounts()
    rows: list[Notification] = []
    for message in messages:
        for row in message.rows:
            row.lease_expires_at, row.lease_token = None, ""
            if message.error is None:
                row.status, row.sent_at, row.next_attempt_at = Status.SENT, message.sent_at, None
                counts.sent += 1
            else:
                if message.rendered:  # rendered again at the next attempt
                    row.subject, row.body_text, row.body_html = "", "", ""
                row.grouped_with = None
                row.last_error = f"{type(message.error).__name__}: {message.error}"[:2000]
                if row.out_of_attempts():
                    row.status, row.failed_at, row.next_attempt_at = Status.FAILED, now, None
                    counts.failed += 1
                    logger.error(
                        "Notification %s to %s failed for good after %s attempts: %s",
                        row.pk,
                        row.recipient,
                        row.tries,
                        row.last_error,
                    )
                else:
                    row.status = Status.PENDING
                    row.next_attempt_at = now + retry_delay(row.tries)
                    counts.retrying += 1
            rows.append(row)
    for row in unsent:  # handed back untried: the attempt does not count
        row.status, row.attempts, row.lease_expires_at, row.lease_token = (
            Status.PENDING,
            row.attempts - 1,
            None,
            "",
        )
        rows.append(row)
    if counts.retrying or counts.failed:
        logger.warning(
            "Delivery: %s sent, %s retrying, %s failed", counts.sent, counts.retrying, counts.failed
        )
    rows_update(objs=rows, fields=RECORDED_FIELDS, where={"lease_token": token})
    if counts.retrying:
        due = [r.next_attempt_at for r in rows if r.status == Status.PENDING and r.next_attempt_at]
        if due:
            _retry_schedule(min(due) - now)
    return counts


def _eager() -> bool:
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def _helper_kick() -> None:
    """Ask one more worker to join a burst (not in eager mode, where it would run inline)."""
    if _eager():
        return
    task_enqueue(name="tickets.tasks.notifications_deliver_pending")


def _retry_schedule(delay: timedelta) -> None:
    """Ask a worker to pass again once the earliest retry is due. If that message is lost,
    the sweep that every scan runs picks the rows up."""
    if _eager():
        return  # eager mode would run it at once, before it is due; the sweep retries
    # With the broker down this only logs: the sweep of the next scan retries.
    task_enqueue(
        name="tickets.tasks.notifications_deliver_pending",
        countdown=max(delay.total_seconds(), 0),
    )
