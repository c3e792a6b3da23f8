"""How a delivery pass takes its share of the outbox: one short transaction per batch.

Rows that are not grouped are claimed `limit` at a time, oldest first, with `skip_locked`.
Rows of the grouped events are claimed a whole recipient at a time (up to
NOTIFICATION_GROUP_MAX rows each), so what one pass of the scan owes a person goes out in one
message: on PostgreSQL a pass takes a recipient only under a transaction-scoped advisory lock
on the address, so two workers never split one person's rows; recipients are added until the
batch holds `limit` rows, so N workers share a burst recipient by recipient. Every lookup
walks a pending index (single rows, grouped rows, a recipient's grouped rows) from its oldest
end and stops at a bound (`limit`, the group size): its cost does not depend on the backlog,
nor on how stale the table's statistics are after a burst. (While a scan pass is writing,
the rows it holds back are passed over on the way: for those seconds a lookup walks past
them.)
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from .models import Notification, NotificationHold
from .models.outbox import attempts_spent, grouped_rows

Status = Notification.Status


def leases_expire(*, now: datetime) -> None:
    """Rows left `sending` by a delivery pass that died go back to pending, or fail when they
    used every attempt. (A scan pass that died holds its rows only until its hold runs out.)"""
    # Leases are set from the wall clock (see `claim`); the rows become due at `now`.
    expired = Notification.objects.filter(
        status=Status.SENDING, lease_expires_at__lte=max(now, timezone.now())
    )
    expired.filter(attempts_spent()).update(
        status=Status.FAILED,
        failed_at=now,
        next_attempt_at=None,
        lease_expires_at=None,
        lease_token="",
        last_error="Delivery was interrupted on every attempt.",
    )
    expired.update(
        status=Status.PENDING, next_attempt_at=now, lease_expires_at=None, lease_token=""
    )


def _held_tokens() -> list[str]:
    """Tokens of the scan passes still writing (their rows wait for the pass to end)."""
    return list(
        NotificationHold.objects.filter(expires_at__gt=timezone.now()).values_list(
            "token", flat=True
        )
    )


def _recipient_lock(recipient: str) -> bool:
    """Take this recipient's grouped rows for this transaction, unless another pass has them."""
    if connection.vendor != "postgresql":
        return True  # SQLite: one writer at a time already
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(hashtext('notification-group:' || lower(%s)))",
            [recipient],
        )
        return bool(cursor.fetchone()[0])


def _groups_claim(*, due: QuerySet, room: int, limit: int) -> tuple[list[Notification], bool]:
    """Whole recipients' due grouped rows, oldest recipient first, until `room` rows; and
    whether a recipient was passed over because another pass was claiming it that moment."""
    sample = due.order_by("next_attempt_at", "pk").values_list("recipient", flat=True)[:limit]
    rows: list[Notification] = []
    contended = False
    for recipient in dict.fromkeys(sample):
        if len(rows) >= room:
            break
        if not _recipient_lock(recipient):
            contended = True
            continue
        # No ticket comes along: a grouped message carries no ticket's threading headers.
        rows += list(
            due.filter(recipient=recipient)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "pk")[: settings.NOTIFICATION_GROUP_MAX]
        )
    return rows, contended


def _walk_in_claim_order() -> None:
    """Plan this transaction's lookups as walks of the pending indexes in claim order. Their
    conditions and order are the indexes' own, so that is always the cheapest plan, but right
    after a burst the table's statistics still describe it as it was (autovacuum analyses
    it a minute later): the planner would then choose to collect and sort every due row,
    at a cost that grows with the backlog, once per batch."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")


def claim(
    *, now: datetime, token: str, limit: int, only: int | None
) -> tuple[list[Notification], bool]:
    """Claim a batch of due rows (see the module's docstring) and mark them `sending` under
    this pass's token and lease; returns them, and whether a recipient was passed over while
    another pass claimed it (rows that pass could not see yet may be left for this one)."""
    contended = False
    due = Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
    held = _held_tokens()
    if held:
        due = due.exclude(lease_token__in=held)
    grouped = grouped_rows()
    with transaction.atomic():
        _walk_in_claim_order()
        # The ticket comes along for the emails' threading headers; only outbox rows are locked.
        locked = due.select_related("ticket").select_for_update(skip_locked=True, of=("self",))
        if only is not None:
            rows = list(locked.filter(pk=only))
        else:
            rows = list(locked.exclude(grouped).order_by("next_attempt_at", "pk")[:limit])
            in_groups, contended = _groups_claim(
                due=due.filter(grouped), room=max(limit - len(rows), 1), limit=limit
            )
            rows += in_groups
        if not rows:
            return [], contended
        # From the wall clock, not the pass's `now`: a long pass claims later batches later.
        expires = timezone.now() + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
        Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=Status.SENDING,
            lease_token=token,
            lease_expires_at=expires,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
        )
    for row in rows:
        row.status, row.lease_token, row.lease_expires_at = Status.SENDING, token, expires
        row.attempts += 1
        row.last_attempt_at = now
    return rows, contended
