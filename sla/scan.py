"""The periodic scan: one pass over what is due. The SLA engine does its own work here; apps
above (escalation) add theirs with `step_register`, so the scan never imports them.

Cost follows the due tickets, not the open ones: tickets are found through the partial index
on `sla_next_check_at` and handled in batches with a fixed number of queries per batch
(claim, the batch's sites and people, site contacts, outbox rows, history, one write of
the ticket columns).
Rows are claimed with `select_for_update(skip_locked=True)`, so overlapping scans share the
work and never do the same work twice; the outbox's unique key is the second guard.
"""

import contextvars
import gc
import json
import logging
import math
import operator
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from tickets import notify
from tickets.broker import task_enqueue
from tickets.bulk import rows_update, values_insert
from tickets.models import ClientSite, Kind, Notification, Ticket, TicketEvent
from tickets.outbox import (
    notifications_enqueue_many,
    notifications_held,
    notifications_hold_note_written,
    notifications_hold_written,
)
from tickets.selectors import site_contact_emails_by_site

from .models import ScanRun, SLAPolicy
from .selectors import policy_commitment
from .signals import responses_breached
from .states import (
    RUNNING,
    sla_next_check_compute,
    sla_state_compute,
    update_warn_for,
)

logger = logging.getLogger(__name__)

Step = Callable[[datetime], int]
_STEPS: dict[str, Step] = {}

Event = Notification.Event
SCAN_FIELDS = [
    "sla_state",
    "sla_next_check_at",
    "response_breached_at",
    "response_warned_at",
    "last_client_update_at",
    "next_update_due_at",
    "update_warn_at",
    "update_cycle",
    "update_paused_seconds",
    "client_update_count",
]
SCAN_COUNTS = (
    "tickets_checked",
    "at_risk_warnings",
    "breaches",
    "client_updates",
    "update_warnings",
)
# A lane claims batches until a short one; this bounds a pass even if something keeps a
# ticket due (it never should).
MAX_BATCHES = 1000


def step_register(name: str, step: Step) -> None:
    """Run `step(now)` in every scan pass after the SLA's own work; it returns a count that the
    scan reports under `name`."""
    _STEPS[name] = step


def _site_emails(tickets: list[Ticket]) -> dict[int, list[str]]:
    """pm and it emails per site, for every site in the batch, in one query."""
    return site_contact_emails_by_site(site_ids={t.site_id for t in tickets})


def _people_attach(tickets: list[Ticket]) -> None:
    """Give each ticket its site, reporter and assignee, each loaded once for the batch (a
    join would build a copy of a site or a person for every one of thousands of tickets)."""
    sites = ClientSite.objects.in_bulk({t.site_id for t in tickets})
    people = get_user_model().objects.in_bulk(
        {t.reporter_id for t in tickets} | {t.assignee_id for t in tickets if t.assignee_id}
    )
    # Into the relations' caches, as select_related does: the ids are already these rows'
    # (the descriptors' checks on assignment cost more than the rest of this, per ticket).
    site = Ticket.site.field.set_cached_value
    reporter = Ticket.reporter.field.set_cached_value
    assignee = Ticket.assignee.field.set_cached_value
    for ticket in tickets:
        site(ticket, sites[ticket.site_id])
        reporter(ticket, people[ticket.reporter_id])
        assignee(ticket, people[ticket.assignee_id] if ticket.assignee_id else None)


def _announce(
    rows: list[dict],
    *,
    ticket: Ticket,
    event: str,
    recipients: list[str],
    commitment: str,
    sequence: int = 0,
    **extra,
) -> None:
    """Queue one event's email: one context for the ticket and event, its recipients listed
    (the outbox writes a row per recipient in the database)."""
    recipients = notify.unique_emails(recipients)
    if recipients:
        rows.append(
            {
                "ticket_id": ticket.pk,
                "event": event,
                "sequence": sequence,
                "context": notify.email_context(ticket, commitment=commitment, **extra),
                "recipient": recipients,
            }
        )


def _event(events: list[dict], *, ticket: Ticket, changes: dict, message: str) -> None:
    events.append(
        {
            "ticket_id": ticket.pk,
            "action": TicketEvent.Action.SLA,
            "changes": changes,
            "message": message,
        }
    )


def _ticket_scan(
    ticket: Ticket,
    *,
    now: datetime,
    policy: SLAPolicy | None,
    commitment: str,
    site_emails: list[str],
    rows: list[dict],
    events: list[dict],
    counts: dict[str, int],
) -> bool:
    """Do what is due for one claimed ticket; True when its first response breached now."""
    breached = False
    if (
        ticket.status in RUNNING
        and ticket.responded_at is None
        and ticket.response_breached_at is None
    ):
        if ticket.response_due_at is not None and ticket.response_due_at <= now:
            # Recorded as when the target was missed, which is what the escalation ladder
            # counts from; the scan may see it up to one interval later.
            ticket.response_breached_at = ticket.response_due_at
            breached = True
            counts["breaches"] += 1
            _announce(
                rows,
                ticket=ticket,
                event=Event.RESPONSE_BREACHED,
                recipients=notify.staff_recipients(ticket),
                commitment=commitment,
            )
            _event(
                events,
                ticket=ticket,
                changes={"response_breached_at": [None, ticket.response_due_at.isoformat()]},
                message="First response target missed.",
            )
        elif (
            ticket.response_warned_at is None
            and ticket.response_warn_at is not None
            and ticket.response_warn_at <= now
        ):
            ticket.response_warned_at = now
            counts["at_risk_warnings"] += 1
            _announce(
                rows,
                ticket=ticket,
                event=Event.RESPONSE_AT_RISK,
                recipients=notify.staff_recipients(ticket),
                commitment=commitment,
            )
    if ticket.kind == Kind.INCIDENT and ticket.status in RUNNING:
        every = policy.update_every_minutes if policy else None
        if ticket.next_update_due_at is not None and ticket.next_update_due_at <= now:
            last_update = ticket.last_client_update_at
            number = ticket.client_update_count + 1
            ticket.client_update_count = number
            ticket.last_client_update_at = now
            ticket.update_cycle += 1
            ticket.update_paused_seconds = 0
            ticket.next_update_due_at = now + timedelta(minutes=every) if every else None
            ticket.update_warn_at = update_warn_for(
                policy=policy, next_update_due_at=ticket.next_update_due_at, start=now
            )
            counts["client_updates"] += 1
            _announce(
                rows,
                ticket=ticket,
                event=Event.CLIENT_UPDATE,
                recipients=notify.client_recipients(ticket, site_emails=site_emails),
                sequence=number,
                commitment=commitment,
                update_number=number,
                previous_update=notify.when_local(last_update, ticket),
            )
            _event(
                events,
                ticket=ticket,
                changes={"client_update_count": [number - 1, number]},
                message=f"Automated client update #{number} sent.",
            )
        elif ticket.update_warn_at is not None and ticket.update_warn_at <= now:
            ticket.update_warn_at = None
            counts["update_warnings"] += 1
            _announce(
                rows,
                ticket=ticket,
                event=Event.UPDATE_DUE_SOON,
                recipients=notify.staff_recipients(ticket),
                sequence=ticket.update_cycle,
                commitment=commitment,
            )
    ticket.sla_state = sla_state_compute(ticket, now=now)
    next_check = sla_next_check_compute(ticket)
    # Never leave a ticket due after handling it: that would make the next batch claim it again.
    if next_check is not None and next_check <= now:
        next_check = now + timedelta(minutes=1)
    ticket.sla_next_check_at = next_check
    return breached


_scan_values = operator.attrgetter(*SCAN_FIELDS)


def _changed(batch: list[Ticket], loaded: list[tuple]) -> list[str]:
    """The scan's columns that the batch changed on any of its tickets (a breach changes
    three of ten): the one statement writes only those."""
    changed: set[int] = set()
    for ticket, before in zip(batch, loaded, strict=True):
        after = _scan_values(ticket)
        if after != before:
            changed.update(i for i, value in enumerate(after) if value != before[i])
    return [name for index, name in enumerate(SCAN_FIELDS) if index in changed]


Terms = dict[tuple[str, str], tuple[SLAPolicy, str]]


def _batch_scan(*, now: datetime, terms: Terms, counts: dict[str, int], size: int) -> int:
    """Claim and handle one batch of at most `size` due tickets in one transaction; returns
    how many."""
    with transaction.atomic():
        batch = list(
            Ticket.objects.select_for_update(skip_locked=True)
            .filter(sla_next_check_at__lte=now)
            .order_by("sla_next_check_at", "pk")[:size]
        )
        if not batch:
            return 0
        _people_attach(batch)
        emails = _site_emails(batch)
        loaded = [_scan_values(ticket) for ticket in batch]
        rows: list[dict] = []
        events: list[dict] = []
        breached = []
        for ticket in batch:
            policy, commitment = terms.get((ticket.kind, ticket.impact), (None, ""))
            if _ticket_scan(
                ticket,
                now=now,
                policy=policy,
                commitment=commitment,
                site_emails=emails.get(ticket.site_id, []),
                rows=rows,
                events=events,
                counts=counts,
            ):
                breached.append(ticket)
        notifications_enqueue_many(rows=rows)
        values_insert(model=TicketEvent, rows=events)
        # Handlers (the escalation ladder) set their columns on the breached tickets in
        # memory and name them here, so the batch is written with one statement.
        columns: list[str] = []
        if breached:
            responses_breached.send(sender=Ticket, tickets=breached, columns=columns)
        rows_update(objs=batch, fields=[*_changed(batch, loaded), *dict.fromkeys(columns)])
        counts["tickets_checked"] += len(batch)
    return len(batch)


def _terms() -> Terms:
    """Each (kind, impact)'s policy and its commitment in words, worked out once per lane
    rather than for each of thousands of emails."""
    return {
        (p.kind, p.impact): (p, policy_commitment(p))
        for p in SLAPolicy.objects.select_related("calendar")
    }


def _lane(
    now: datetime, *, counts: dict[str, int] | None = None, size: int | None = None
) -> dict[str, int]:
    """Claim batches of `size` (SLA_SCAN_BATCH_SIZE by default) until a short one (another
    lane may be claiming beside this one)."""
    counts = counts if counts is not None else dict.fromkeys(SCAN_COUNTS, 0)
    size = size or settings.SLA_SCAN_BATCH_SIZE
    terms = _terms()
    for _ in range(MAX_BATCHES):
        if _batch_scan(now=now, terms=terms, counts=counts, size=size) < size:
            break
    return counts


@contextmanager
def _commits_unflushed() -> Iterator[None]:
    """This connection's commits do not wait for the WAL flush while a lane runs. Safe here:
    nothing a lane writes leaves the portal before a later commit that does wait (delivery's
    claim), and that flush covers the lane's commits too; if the server crashes first, the
    lost batches are simply still due at the next pass."""
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            connection.close()  # broken: it is not reused with the setting still off


def _lane_in_thread(now: datetime, size: int) -> dict[str, int]:
    try:
        with _commits_unflushed():
            return _lane(now, size=size)
    finally:
        connection.close()  # this thread's (or this process's) own connection


def _lanes() -> int:
    """How many lanes this pass runs: SLA_SCAN_LANES on PostgreSQL, one on SQLite (one writer
    at a time) or inside a caller's transaction (a lane's own connection would not see it)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, settings.SLA_SCAN_LANES)


class LaneFailed(RuntimeError):
    """A lane in a process of its own failed or died; what the other lanes did stands."""


def _forkable() -> bool:
    """Whether lanes can run in processes of their own: where fork exists and this process
    runs no other thread (a fork copies the calling thread only, so a lock another thread
    held would stay held in the copy for good)."""
    return hasattr(os, "fork") and threading.active_count() == 1


@dataclass
class _ForkedLane:
    pid: int
    pipe: int


def _lane_fork(now: datetime, *, size: int) -> _ForkedLane:
    """Start a lane in a copy of this process; it reports through a pipe."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        _lane_in_child(now, pipe=write, size=size)
    os.close(write)
    return _ForkedLane(pid=pid, pipe=read)


def _lane_in_child(now: datetime, *, pipe: int, size: int) -> NoReturn:
    """The forked lane: claim batches on a connection of its own, write its counts (and
    whether it wrote outbox rows under the pass's hold) to the pipe, and exit without running
    the parent's exit handlers."""
    status = 1
    try:
        # The parent's session is left open and untouched here: closing it (even by letting
        # the object go) would end it for the parent too. This process opens its own.
        _parents_session = connection.connection
        connection.connection = None
        try:
            report: dict = {
                "counts": _lane_in_thread(now, size),
                "written": notifications_hold_written(),
            }
            status = 0
        except BaseException as exc:
            logger.exception("SLA scan lane at %s failed", now.isoformat())
            report = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
        os.write(pipe, json.dumps(report).encode())
    finally:
        os._exit(status)


def _lane_report(lane: _ForkedLane) -> dict:
    """Wait for a forked lane to end and read its report ({"error": ...} if it left none)."""
    with os.fdopen(lane.pipe, "rb") as pipe:
        data = pipe.read()
    try:
        _, status = os.waitpid(lane.pid, 0)
        ended = f"exit code {os.waitstatus_to_exitcode(status)}"
    except ChildProcessError:  # reaped already, where SIGCHLD is ignored
        ended = "exit code unknown"
    try:
        return json.loads(data)
    except ValueError:
        return {"error": f"the lane's process {lane.pid} ended without a report ({ended})"}


def _lanes_in_processes(now: datetime, *, lanes: int, counts: dict[str, int], size: int) -> None:
    """Lanes in processes of their own beside this one: each has its own interpreter, so the
    lanes' Python runs on both cores at once (threads take turns under one lock)."""
    forked = [_lane_fork(now, size=size) for _ in range(lanes - 1)]
    try:
        with _commits_unflushed():
            _lane(now, counts=counts, size=size)
    finally:
        # Even when this lane failed: no lane is left running unwaited.
        reports = [_lane_report(lane) for lane in forked]
    errors = [report["error"] for report in reports if "error" in report]
    if errors:
        raise LaneFailed("; ".join(errors))
    for report in reports:
        if report["written"]:
            notifications_hold_note_written()
        for name, count in report["counts"].items():
            counts[name] += count


def _lanes_in_threads(now: datetime, *, lanes: int, counts: dict[str, int], size: int) -> None:
    """Lanes as threads on their own connections: while one lane works out a batch in
    Python, the database writes another's."""
    with ThreadPoolExecutor(max_workers=lanes - 1, thread_name_prefix="sla-scan") as pool:
        # Each lane runs in a copy of this context, so the pass's hold on its outbox rows
        # (`notifications_held`) covers what the lanes write.
        futures = [
            pool.submit(contextvars.copy_context().run, _lane_in_thread, now, size)
            for _ in range(lanes - 1)
        ]
        with _commits_unflushed():
            _lane(now, counts=counts, size=size)
        for future in futures:
            for name, count in future.result().items():
                counts[name] += count


def sla_clocks_scan(*, now: datetime) -> dict[str, int]:
    """The SLA's own work for one pass: at-risk warnings, breaches, automated client updates
    and update-due-soon warnings for every ticket due by `now`.

    When more is due than one batch (a mass breach) and this is PostgreSQL, the batches are
    shared by SLA_SCAN_LANES lanes, each on its own connection: this one and copies of this
    process (threads instead where this process runs other threads, or cannot fork). A
    quiet minute starts none. `skip_locked` keeps lanes off each other's tickets, as it does
    for overlapping scans. The lanes share the due tickets in equal batches, so they finish
    together rather than one lane working alone through the remainder."""
    counts = dict.fromkeys(SCAN_COUNTS, 0)
    lanes = _lanes()
    size = _lane_batch_size(now, lanes=lanes) if lanes > 1 else None
    if size is None:
        return _lane(now, counts=counts)
    in_processes = _forkable()
    logger.info(
        "SLA scan at %s: more than a batch due, %d lanes in %s, batches of %d",
        now.isoformat(),
        lanes,
        "processes" if in_processes else "threads",
        size,
    )
    notify.backoffice_links_prepare()  # once here, not in each lane
    if in_processes:
        _lanes_in_processes(now, lanes=lanes, counts=counts, size=size)
    else:
        _lanes_in_threads(now, lanes=lanes, counts=counts, size=size)
    return counts


def _lane_batch_size(now: datetime, *, lanes: int) -> int | None:
    """The batch size that gives each of `lanes` lanes the same number of equal batches, none
    larger than SLA_SCAN_BATCH_SIZE; None when no more than one batch is due (one lane does
    it). Counted along the partial index on `sla_next_check_at`, up to `now` only."""
    limit = settings.SLA_SCAN_BATCH_SIZE
    due = Ticket.objects.filter(sla_next_check_at__lte=now).count()
    if due <= limit:
        return None
    per_lane = math.ceil(due / (lanes * limit))
    return math.ceil(due / (lanes * per_lane))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector rests while a pass runs. What a pass builds (tickets, email
    contexts, rows) is freed by reference counting; the collector would only walk it again
    and again, more often the more is due, for about a tenth of an outage's Python time. One
    collection runs afterwards, for whatever cycles the pass left."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(1)


def sla_scan_run(*, now: datetime | None = None) -> dict[str, int]:
    """One pass of the scan: the SLA's work, then every registered step; records a `ScanRun`
    with the counts, logs them and returns them."""
    now = now or timezone.now()
    run = ScanRun.objects.create(started_at=now)
    counts: dict[str, int] = {}
    try:
        # Everything the pass writes reaches delivery together once it ends (one message
        # per person for the whole pass).
        with _collector_paused(), notifications_held(), notify.backoffice_links_fixed():
            counts.update(sla_clocks_scan(now=now))
            for name, step in _STEPS.items():
                counts[name] = step(now)
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.counts = counts
        run.save(update_fields=["finished_at", "counts", "error"])
        logger.exception("SLA scan at %s failed after %s", now.isoformat(), counts)
        raise
    run.finished_at = timezone.now()
    run.counts = counts
    run.save(update_fields=["finished_at", "counts"])
    logger.info("SLA scan at %s: %s", now.isoformat(), counts)
    task_enqueue(name="evidence.tasks.evidence_seal")  # seal what the pass did (by name)
    return counts
