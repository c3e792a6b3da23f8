"""Who hears what about a ticket, and what its emails say.

The ticket services call the four `*_notify` functions at the end of this module for the
emails of the ticket's life (the receipt and the staff alert, replies, the status emails,
a major incident's update); the apps above write their own events' emails with `notify` or
`notification_rows` after declaring them with `email_register` (the SLA's warnings and
client updates). What a commitment says in words is the SLA's: it registers the words with
`commitment_source_register`, and this module never imports it.

Templates in templates/emails/ get a plain dict built here, never a model instance, so an email
can only carry what SPEC.md allows: reference, title, site, kind, impact, status, due times and
a link. Never the description, comments or attachments (they may hold patient data).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse

from .clockface import when_text, zone_named
from .models import Comment, Impact, Kind, Notification, Status, Ticket, TicketEvent
from .outbox import notifications_enqueue, notifications_enqueue_rows, renderer_register
from .selectors import site_contact_emails, site_contact_emails_by_site

Event = Notification.Event

# The subject of each event's email; `email_register` adds the events of the apps above.
SUBJECTS: dict[str, str] = {
    Event.TICKET_FILED: "[{reference}] We received your request: {title}",
    Event.STAFF_ALERT: "[{reference}] New {kind_impact} at {site}: {title}",
    Event.PUBLIC_REPLY: "[{reference}] Rx.Health support replied: {title}",
    Event.STATUS_WAITING: "[{reference}] Waiting on your reply: {title}",
    Event.STATUS_RESOLVED: "[{reference}] Resolved: {title}",
    Event.CLIENT_REPLIED: "[{reference}] The client replied: {title}",
    Event.MAJOR_INCIDENT_UPDATE: "[{reference}] Major incident update: {headline}",
}

# Emails to Rx.Health staff: their link opens the ticket in the back office, where the
# agent can reply with an estimate or write an internal note.
STAFF_EVENTS: set[str] = {Event.STAFF_ALERT, Event.CLIENT_REPLIED}

# The words of a ticket's commitment: `source(ticket, terms)`, where `terms` are the
# registering app's own (an SLA policy) when the caller holds them, None to look them up.
CommitmentSource = Callable[[Ticket, Any], str]
_COMMITMENT: list[CommitmentSource] = []


def commitment_source_register(source: CommitmentSource) -> None:
    """Say where the commitment wording comes from (the SLA registers it when it loads)."""
    _COMMITMENT[:] = [source]


def commitment_words(ticket: Ticket, terms: Any = None) -> str:
    """The ticket's commitment in words ("first response within 1 hour..."), "" when no
    source is registered or no terms govern the ticket."""
    return _COMMITMENT[0](ticket, terms) if _COMMITMENT else ""


# Extra context for the reporter's own copy of a status email (the satisfaction app's rating
# links on "resolved"): `source(ticket, event, sequence)` returns it, or None for none.
ReporterExtras = Callable[[Ticket, str, int], dict[str, Any] | None]
_REPORTER_EXTRAS: list[ReporterExtras] = []


def reporter_extras_register(source: ReporterExtras) -> None:
    """Add context to the reporter's copy of status emails (satisfaction registers it)."""
    _REPORTER_EXTRAS[:] = [source]


def email_register(event: str, *, subject: str, staff: bool = False) -> None:
    """Declare an event's email: its subject (a format string over `email_context`'s keys)
    and whether it goes to staff (its link opens the back office). Its rows render with the
    same templates, emails/<event>.txt and .html."""
    SUBJECTS[event] = subject
    if staff:
        STAFF_EVENTS.add(event)
    renderer_register(event, email_render_row, item=email_item_row)


def renderers_register() -> None:
    """Let delivery render the rows of the ticket's own events (called when tickets loads)."""
    for event in list(SUBJECTS):
        renderer_register(event, email_render_row, item=email_item_row)


_PK_MARK = 918273645


@lru_cache(maxsize=8)
def _backoffice_path(urlconf: str | None, prefix: str) -> tuple[str, str]:
    # Reversed once per URLconf: the scan links thousands of tickets in one pass.
    path = reverse("admin:tickets_ticket_change", args=[_PK_MARK], urlconf=urlconf)
    head, _, tail = path.partition(str(_PK_MARK))
    return head, tail


@dataclass
class _FixedLinks:
    links: tuple[str, str] | None = None


_LINKS_FIXED: ContextVar[_FixedLinks | None] = ContextVar("backoffice_links", default=None)


def _backoffice_links() -> tuple[str, str]:
    """(what comes before a ticket's pk in its absolute back-office link, what comes after)."""
    head, tail = _backoffice_path(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return f"{settings.PORTAL_BASE_URL}{head}", tail


@contextmanager
def backoffice_links_fixed() -> Iterator[None]:
    """Inside the block (a scan pass, no request), `backoffice_url` reuses one lookup of the
    URLconf and script prefix instead of two thread-local reads per link. The lookup is made
    at the first link: a pass that links nothing does not load the URLconf (every view and
    serializer of the portal, about a third of a second in a fresh process)."""
    reset = _LINKS_FIXED.set(_FixedLinks())
    try:
        yield
    finally:
        _LINKS_FIXED.reset(reset)


def _links() -> tuple[str, str]:
    fixed = _LINKS_FIXED.get()
    if fixed is None:
        return _backoffice_links()
    if fixed.links is None:
        fixed.links = _backoffice_links()
    return fixed.links


def backoffice_links_prepare() -> None:
    """Make the block's lookup now, before this process is copied (the scan's lanes), so
    that the copies inherit it instead of each loading the URLconf for itself."""
    _links()


def backoffice_url(ticket: Ticket) -> str:
    """The ticket's page in the back office, as an absolute link for emails."""
    head, tail = _links()
    return f"{head}{ticket.pk}{tail}"


def unique_emails(emails: list[str]) -> list[str]:
    """Each address once (case-insensitive), in the order given."""
    seen: set[str] = set()
    result = []
    for email in emails:
        email = (email or "").strip()
        if email and email.lower() not in seen:
            seen.add(email.lower())
            result.append(email)
    return result


def client_recipients(ticket: Ticket, *, site_emails: list[str] | None = None) -> list[str]:
    """The reporter and the site's pm and it members, each once."""
    if site_emails is None:
        site_emails = site_contact_emails(site=ticket.site)
    reporter = ticket.reporter.email if ticket.reporter.is_active else ""
    return unique_emails([reporter, *site_emails])


def staff_recipients(ticket: Ticket) -> list[str]:
    """The assignee, or the staff queue when nobody is assigned."""
    if ticket.assignee is not None and ticket.assignee.email and ticket.assignee.is_active:
        return [ticket.assignee.email]
    return [settings.SUPPORT_QUEUE_EMAIL]


def when_local(moment: datetime | None, ticket: Ticket) -> str:
    """A moment as the site reads it: "Wed 25 Nov 2026, 14:30 EST"."""
    return when_text(moment, zone_named(ticket.site.timezone))


_LABELS = (dict(Kind.choices), dict(Impact.choices), dict(Status.choices))


def ticket_labels(ticket: Ticket) -> tuple[str, str, str]:
    """The ticket's kind, impact ("" when none) and status as people read them (without the
    per-call choices lookup of `get_FOO_display`, which costs in a scan of thousands)."""
    kinds, impacts, statuses = _LABELS
    return (
        str(kinds.get(ticket.kind, ticket.kind)),
        str(impacts.get(ticket.impact, ticket.impact)) if ticket.impact else "",
        str(statuses.get(ticket.status, ticket.status)),
    )


def email_context(
    ticket: Ticket, *, policy: Any = None, commitment: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Everything an email may say about a ticket. The commitment is `commitment` when
    given, else the words of the caller's SLA terms (`policy`) when it holds them, else ""."""
    tz = zone_named(ticket.site.timezone)
    kind, impact, status = ticket_labels(ticket)
    if commitment is None:
        commitment = commitment_words(ticket, policy) if policy is not None else ""
    context = {
        "reference": ticket.reference,
        "title": " ".join(ticket.title.split()),
        "site": ticket.site.name,
        "kind": kind,
        "impact": impact,
        "kind_impact": f"{kind} ({impact} impact)" if impact else kind,
        "status": status,
        "assignee": ticket.assignee.get_full_name() or ticket.assignee.get_username()
        if ticket.assignee
        else "",
        "response_due": when_text(ticket.response_due_at, tz),
        "responded": when_text(ticket.responded_at, tz),
        "response_overdue": ticket.responded_at is None and ticket.response_breached_at is not None,
        "next_update_due": when_text(ticket.next_update_due_at, tz),
        "last_update": when_text(ticket.last_client_update_at, tz),
        "estimated_resolution": when_text(ticket.estimated_resolution_at, tz),
        "commitment": commitment,
        "link": f"{settings.PORTAL_BASE_URL}/tickets/{ticket.reference}/",
        "staff_link": backoffice_url(ticket),
        "support_phone": settings.SUPPORT_PHONE,
    }
    context.update(extra)
    return context


def email_render(event: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of one event's email."""
    if event in STAFF_EVENTS:
        context = {**context, "link": context["staff_link"]}
    subject = SUBJECTS[event].format(**context)
    subject = " ".join(subject.split())[:300]
    text = render_to_string(f"emails/{event}.txt", context)
    html = render_to_string(f"emails/{event}.html", context)
    return subject, text, html


def notify(
    *,
    ticket: Ticket,
    event: str,
    recipients: list[str],
    sequence: int = 0,
    policy: Any = None,
    **extra: Any,
) -> None:
    """Write the event's email to each recipient into the outbox, in the caller's transaction."""
    recipients = unique_emails(recipients)
    if not recipients:
        return
    context = email_context(ticket, policy=policy, **extra)
    subject, text, html = email_render(event, context)
    notifications_enqueue(
        ticket=ticket,
        event=event,
        recipients=recipients,
        subject=subject,
        body_text=text,
        body_html=html,
        context=context,
        sequence=sequence,
        channel=Notification.Channel.EMAIL,
    )


def notification_rows(
    *,
    ticket: Ticket,
    event: str,
    recipients: list[str],
    sequence: int = 0,
    policy: Any = None,
    **extra: Any,
) -> list[Notification]:
    """Unsaved outbox rows for one event, for callers that write many at once (the scan).
    They carry the email's context, built once per ticket and event; delivery renders it
    (`email_render_row`) and stores what was sent."""
    context = email_context(ticket, policy=policy, **extra)
    return [
        Notification(
            ticket=ticket,
            event=event,
            sequence=sequence,
            channel=Notification.Channel.EMAIL,
            recipient=recipient,
            context=context,
        )
        for recipient in unique_emails(recipients)
    ]


def email_render_row(notification: Notification) -> tuple[str, str, str]:
    """Render an outbox row written with a context only (the delivery's renderer)."""
    return email_render(notification.event, notification.context)


def email_item_row(notification: Notification) -> dict[str, str]:
    """A row's line in a grouped message: staff follow the back-office link, as in its own
    email."""
    context = notification.context
    if notification.event in STAFF_EVENTS and context.get("staff_link"):
        return {"link": context["staff_link"]}
    return {}


def notify_once_per_person(
    *,
    tickets: list[Ticket],
    event: str,
    sequence: int,
    site_emails: dict[int, list[str]],
    **extra: Any,
) -> int:
    """One email per distinct person for one event that reached many tickets (a major
    incident's update), filed in the ledger under that person's first ticket. A person
    already written for this event and sequence (an earlier batch) is skipped, so each hears
    once; the email lists their tickets. Returns how many rows were written."""
    tickets_of: dict[str, list[Ticket]] = {}
    address: dict[str, str] = {}
    for ticket in tickets:
        for email in client_recipients(ticket, site_emails=site_emails.get(ticket.site_id, [])):
            tickets_of.setdefault(email.lower(), []).append(ticket)
            address.setdefault(email.lower(), email)
    already = {
        email.lower()
        for email in Notification.objects.filter(
            event=event,
            sequence=sequence,
            channel=Notification.Channel.EMAIL,
            recipient__in=list(address.values()),
        ).values_list("recipient", flat=True)
    }
    # People with the same tickets get the same email: render it once per group.
    groups: dict[tuple[int, ...], list[str]] = {}
    for key, mine in tickets_of.items():
        if key not in already:
            groups.setdefault(tuple(t.pk for t in mine), []).append(address[key])
    rows = []
    for emails in groups.values():
        mine = tickets_of[emails[0].lower()]
        rows += notification_rows(
            ticket=mine[0],
            event=event,
            recipients=emails,
            sequence=sequence,
            tickets=[(t.reference, t.title) for t in mine],
            **extra,
        )
    notifications_enqueue_rows(rows=rows)
    return len(rows)


# The emails of a ticket's life, sent by the ticket services after the apps above have
# answered the change (so the due times they set are in the email).


def ticket_filed_notify(*, ticket: Ticket) -> None:
    """The receipt (with the commitment in words) to the reporter and the new-ticket alert
    to the staff queue."""
    commitment = commitment_words(ticket)
    notify(
        ticket=ticket,
        event=Event.TICKET_FILED,
        recipients=[ticket.reporter.email],
        commitment=commitment,
    )
    notify(
        ticket=ticket,
        event=Event.STAFF_ALERT,
        recipients=[settings.SUPPORT_QUEUE_EMAIL],
        commitment=commitment,
    )


def reply_notify(*, ticket: Ticket, comment: Comment) -> None:
    """A public staff reply: the site hears about it (without its text). A client reply: the
    assignee (or the staff queue) hears about it. Once per reply; an internal note is silent."""
    if not comment.by_staff:
        notify(
            ticket=ticket,
            event=Event.CLIENT_REPLIED,
            recipients=staff_recipients(ticket),
            sequence=comment.pk,
            replied_by=comment.author.get_full_name() or comment.author.get_username(),
            replied_at=when_local(comment.created_at, ticket),
        )
    elif comment.public:
        notify(
            ticket=ticket,
            event=Event.PUBLIC_REPLY,
            recipients=client_recipients(ticket),
            sequence=comment.pk,
            commitment=commitment_words(ticket),
        )


STATUS_EVENTS = {
    Status.WAITING_ON_CLIENT: Event.STATUS_WAITING,
    Status.RESOLVED: Event.STATUS_RESOLVED,
}


def status_notify(*, ticket: Ticket, change: TicketEvent) -> None:
    """Tell the site a ticket waits on them or is resolved, once per status change (the
    history row `change` is the email's key in the ledger)."""
    after = change.changes["status"][1]
    if after not in STATUS_EVENTS:
        return
    event = STATUS_EVENTS[after]
    recipients = client_recipients(ticket)
    common: dict[str, Any] = {
        "ticket": ticket,
        "event": event,
        "sequence": change.pk,
        "commitment": commitment_words(ticket),
    }
    extra = _REPORTER_EXTRAS[0](ticket, event, change.pk) if _REPORTER_EXTRAS else None
    reporter = ticket.reporter.email.lower() if ticket.reporter.is_active else ""
    own = [r for r in recipients if reporter and r.lower() == reporter]
    if extra and own:
        notify(recipients=own, **common, **extra)
        recipients = [r for r in recipients if r not in own]
    notify(recipients=recipients, **common)


def major_incident_update_notify(*, tickets: list[Ticket], broadcast_id: int, headline: str) -> int:
    """A major incident's public update: each person of the affected sites once per update,
    however many of their tickets it reached (including in earlier batches)."""
    if not tickets:
        return 0
    return notify_once_per_person(
        tickets=tickets,
        event=Event.MAJOR_INCIDENT_UPDATE,
        sequence=broadcast_id,
        site_emails=site_contact_emails_by_site(site_ids={t.site_id for t in tickets}),
        headline=headline,
    )
