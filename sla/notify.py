"""Who hears what, and what the emails say.

Templates in templates/emails/ get a plain dict built here, never a model instance, so an email
can only carry what SPEC.md allows: reference, title, site, kind, impact, status, due times and
a link. Never the description, comments or attachments (they may hold patient data).
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from tickets.clockface import when_text, zone_named
from tickets.models import Impact, Kind, Notification, Status, Ticket
from tickets.outbox import notifications_enqueue, notifications_enqueue_rows, renderer_register
from tickets.selectors import site_contact_emails

from .models import SLAPolicy
from .selectors import policy_commitment

Event = Notification.Event

SUBJECTS: dict[str, str] = {
    Event.TICKET_FILED: "[{reference}] We received your request: {title}",
    Event.STAFF_ALERT: "[{reference}] New {kind_impact} at {site}: {title}",
    Event.PUBLIC_REPLY: "[{reference}] Rx.Health support replied: {title}",
    Event.STATUS_WAITING: "[{reference}] Waiting on your reply: {title}",
    Event.STATUS_RESOLVED: "[{reference}] Resolved: {title}",
    Event.CLIENT_UPDATE: "[{reference}] Status update #{update_number}: {title}",
    Event.UPDATE_DUE_SOON: "[{reference}] Client update due {next_update_due}: {title}",
    Event.RESPONSE_AT_RISK: "[{reference}] First response at risk, due {response_due}: {title}",
    Event.RESPONSE_BREACHED: "[{reference}] First response missed (due {response_due}): {title}",
    Event.CLIENT_REPLIED: "[{reference}] The client replied: {title}",
    Event.MAJOR_INCIDENT_UPDATE: "[{reference}] Major incident update: {headline}",
}

# Emails to Rx.Health staff: their link opens the ticket in the back office, where the
# agent can reply with an estimate or write an internal note.
STAFF_EVENTS = frozenset(
    {
        Event.STAFF_ALERT,
        Event.UPDATE_DUE_SOON,
        Event.RESPONSE_AT_RISK,
        Event.RESPONSE_BREACHED,
        Event.CLIENT_REPLIED,
    }
)


def backoffice_url(ticket: Ticket) -> str:
    """The ticket's page in the back office, as an absolute link for emails."""
    return settings.PORTAL_BASE_URL + reverse("admin:tickets_ticket_change", args=[ticket.pk])


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


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return when_text(moment, tz)


def _site_tz(ticket: Ticket) -> ZoneInfo:
    return zone_named(ticket.site.timezone)


def when_local(moment: datetime | None, ticket: Ticket) -> str:
    """A moment as the site reads it: "Wed 25 Nov 2026, 14:30 EST"."""
    return _when(moment, _site_tz(ticket))


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
    ticket: Ticket, *, policy: SLAPolicy | None = None, **extra: Any
) -> dict[str, Any]:
    """Everything an email may say about a ticket."""
    tz = _site_tz(ticket)
    kind, impact, status = ticket_labels(ticket)
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
        "response_due": _when(ticket.response_due_at, tz),
        "responded": _when(ticket.responded_at, tz),
        "response_overdue": ticket.responded_at is None and ticket.response_breached_at is not None,
        "next_update_due": _when(ticket.next_update_due_at, tz),
        "last_update": _when(ticket.last_client_update_at, tz),
        "estimated_resolution": _when(ticket.estimated_resolution_at, tz),
        "commitment": policy_commitment(policy) if policy else "",
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
    policy: SLAPolicy | None = None,
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
    policy: SLAPolicy | None = None,
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


def renderers_register() -> None:
    for event in SUBJECTS:
        renderer_register(event, email_render_row, item=email_item_row)


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
