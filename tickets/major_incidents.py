"""Writes for major incidents: one outage many sites report. Staff declare it, link each
site's incident ticket to it, and post updates once for all of them. Each linked ticket keeps
its own clocks: a broadcast update counts on every ticket exactly as a human reply does (the
SLA engine and escalation answer `signals.replies_broadcast`), and linking moves no due time.
"""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import notify, signals
from .actors import Actor
from .errors import Conflict, DomainError, NotAllowed
from .models import (
    OPEN_STATUSES,
    ClientSite,
    Comment,
    Impact,
    Kind,
    MajorIncident,
    MajorIncidentUpdate,
    Role,
    SiteMembership,
    Status,
    Ticket,
    TicketEvent,
)
from .selectors import is_staff
from .services import clean_text, ticket_create, ticket_status_change

# Tickets per transaction when an update is broadcast; every batch costs the same queries.
BROADCAST_BATCH_SIZE = 250

_UNSET: Any = object()


def _require_staff(actor: Actor) -> None:
    if not is_staff(actor):
        raise NotAllowed("Only Rx.Health staff manage major incidents.")


def _validate_impact(impact: Any) -> str:
    if impact not in Impact.values:
        raise DomainError("Choose one of: high, medium, low.", field="impact")
    return impact


def _validate_lead(lead: Actor | None) -> Actor | None:
    if lead is not None and not is_staff(lead):
        raise DomainError("The person in charge must be active Rx.Health staff.", field="lead")
    return lead


def _affected_sites(major_incident: MajorIncident) -> QuerySet[ClientSite]:
    if major_incident.all_sites:
        return ClientSite.objects.filter(is_active=True)
    return major_incident.sites.filter(is_active=True)


@transaction.atomic
def major_incident_create(
    *,
    actor: Actor,
    title: str,
    summary: str = "",
    impact: str = Impact.HIGH,
    sites: Iterable[ClientSite] = (),
    all_sites: bool = False,
    lead: Actor | None = None,
) -> MajorIncident:
    """Declare a major incident over the chosen sites (or every site); staff only."""
    _require_staff(actor)
    sites = list(sites)
    if not all_sites and not sites:
        raise DomainError("Choose the affected sites, or every site.", field="sites")
    major_incident = MajorIncident.objects.create(
        title=clean_text(title, field="title", max_length=200),
        summary=clean_text(summary, field="summary", max_length=5000, required=False),
        impact=_validate_impact(impact),
        all_sites=bool(all_sites),
        lead=_validate_lead(lead if lead is not None else actor),
        created_by=actor,
    )
    if not all_sites:
        major_incident.sites.set(sites)
    return major_incident


def major_incident_change(
    *,
    major_incident: MajorIncident,
    actor: Actor,
    title: str = _UNSET,
    summary: str = _UNSET,
    impact: str = _UNSET,
    status: str = _UNSET,
    lead: Actor | None = _UNSET,
    sites: Iterable[ClientSite] = _UNSET,
    all_sites: bool = _UNSET,
    resolution: str = "",
) -> MajorIncident:
    """Edit a major incident (staff only). Moving it to `resolved` goes on to
    `major_incident_resolve`, which tells and resolves every linked ticket."""
    _require_staff(actor)
    if status is not _UNSET and status not in MajorIncident.Status.values:
        raise DomainError(
            f"Choose one of: {', '.join(MajorIncident.Status.values)}.", field="status"
        )
    resolving = status == MajorIncident.Status.RESOLVED
    with transaction.atomic():
        major_incident = MajorIncident.objects.select_for_update().get(pk=major_incident.pk)
        if not major_incident.is_open:
            raise Conflict("This major incident is resolved.", field="status")
        if title is not _UNSET:
            major_incident.title = clean_text(title, field="title", max_length=200)
        if summary is not _UNSET:
            major_incident.summary = clean_text(
                summary, field="summary", max_length=5000, required=False
            )
        if impact is not _UNSET:
            major_incident.impact = _validate_impact(impact)
        if lead is not _UNSET:
            major_incident.lead = _validate_lead(lead)
        if all_sites is not _UNSET:
            major_incident.all_sites = bool(all_sites)
        if status is not _UNSET and not resolving:
            major_incident.status = status
        major_incident.save()
        if sites is not _UNSET:
            major_incident.sites.set(list(sites))
        if not major_incident.all_sites and not major_incident.sites.exists():
            raise DomainError("Choose the affected sites, or every site.", field="sites")
    if resolving:
        major_incident = major_incident_resolve(
            major_incident=major_incident, actor=actor, body=resolution
        )
    return major_incident


def _linkable(*, major_incident: MajorIncident, tickets: list[Ticket]) -> None:
    site_ids = (
        None if major_incident.all_sites else set(major_incident.sites.values_list("pk", flat=True))
    )
    for ticket in tickets:
        if site_ids is not None and ticket.site_id not in site_ids:
            raise DomainError(
                f"{ticket.reference} is at a site this major incident does not affect.",
                field="tickets",
            )
        if ticket.kind != Kind.INCIDENT:
            raise DomainError(f"{ticket.reference} is not an incident.", field="tickets")
        if ticket.status not in OPEN_STATUSES:
            raise Conflict(f"{ticket.reference} is not open.", field="tickets")
        if ticket.major_incident_id not in (None, major_incident.pk):
            raise Conflict(
                f"{ticket.reference} is linked to another major incident "
                f"(MI-{ticket.major_incident_id}); unlink it there first.",
                field="tickets",
            )


def _links_set(
    *,
    tickets: list[Ticket],
    major_incident: MajorIncident | None,
    actor: Actor | None,
    changes: dict,
    message: str = "",
) -> None:
    """Point locked tickets at the major incident (or at none) and record it in each one's
    history, in two statements."""
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        major_incident=major_incident, updated_at=timezone.now()
    )
    actor = actor if getattr(actor, "pk", None) else None
    action = TicketEvent.Action.LINKED if major_incident else TicketEvent.Action.UNLINKED
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket=t, actor=actor, action=action, changes=changes, message=message)
        for t in tickets
    )


@transaction.atomic
def major_incident_link(
    *, major_incident: MajorIncident, tickets: Iterable[Ticket], actor: Actor
) -> int:
    """Link open incident tickets of affected sites (staff only); a ticket belongs to one
    major incident at most. Linking moves no due time. Returns how many were newly linked."""
    _require_staff(actor)
    major_incident = MajorIncident.objects.select_for_update().get(pk=major_incident.pk)
    if not major_incident.is_open:
        raise Conflict("This major incident is resolved.", field="tickets")
    pks = [t.pk for t in tickets]
    locked = list(Ticket.objects.select_for_update(of=("self",)).filter(pk__in=pks).order_by("pk"))
    _linkable(major_incident=major_incident, tickets=locked)
    new = [t for t in locked if t.major_incident_id is None]
    _links_set(
        tickets=new,
        major_incident=major_incident,
        actor=actor,
        changes={"major_incident": [None, str(major_incident)]},
    )
    return len(new)


@transaction.atomic
def major_incident_unlink(
    *,
    major_incident: MajorIncident,
    tickets: Iterable[Ticket],
    actor: Actor | None,
    message: str = "",
) -> int:
    """Unlink tickets from the major incident; from then on each runs on its own. Staff only,
    or the system (actor None) when a site reopens its resolved ticket. Returns how many."""
    if actor is not None:
        _require_staff(actor)
    pks = [t.pk for t in tickets]
    locked = list(
        Ticket.objects.select_for_update(of=("self",))
        .filter(pk__in=pks, major_incident=major_incident)
        .order_by("pk")
    )
    _links_set(
        tickets=locked,
        major_incident=None,
        actor=actor,
        changes={"major_incident": [str(major_incident), None]},
        message=message,
    )
    return len(locked)


def major_incident_unlink_reopened(*, ticket: Ticket, actor: Actor, **_: Any) -> None:
    """A site reopened its ticket after the major incident was resolved: it leaves the major
    incident and runs on its own clocks (called inside the status change's transaction)."""
    if ticket.major_incident_id is None:
        return
    major_incident = MajorIncident.objects.get(pk=ticket.major_incident_id)
    if major_incident.is_open:
        return
    ticket.major_incident = None
    major_incident_unlink(
        major_incident=major_incident,
        tickets=[ticket],
        actor=None,
        message=f"Reopened by {actor}: it now runs on its own." if actor else "",
    )


def _broadcast_batch(
    *,
    update: MajorIncidentUpdate,
    major_incident: MajorIncident,
    author: Actor,
    after_pk: int,
    batch_size: int,
) -> list[Ticket]:
    """One transaction: the reply on a batch of linked open tickets, in a constant number
    of queries. Closed tickets never take replies; resolved ones run on their own."""
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(of=("self",))
            .select_related("site", "reporter")
            .filter(
                major_incident=major_incident,
                status__in=OPEN_STATUSES,
                pk__gt=after_pk,
            )
            .order_by("pk")[:batch_size]
        )
        if not tickets:
            return tickets
        comments = Comment.objects.bulk_create(
            Comment(ticket=t, author=author, body=update.body, public=True, by_staff=True)
            for t in tickets
        )
        events = [
            TicketEvent(
                ticket=t,
                actor=author,
                action=TicketEvent.Action.COMMENTED,
                message=f"Update on {major_incident}"[:500],
            )
            for t in tickets
        ]
        # A staff reply puts a new ticket in progress, as on the single-ticket path.
        new = [t for t in tickets if t.status == Status.NEW]
        status_events = [
            TicketEvent(
                ticket=t,
                actor=author,
                action=TicketEvent.Action.STATUS_CHANGED,
                changes={"status": [Status.NEW, Status.IN_PROGRESS]},
            )
            for t in new
        ]
        created = TicketEvent.objects.bulk_create(events + status_events)
        now = timezone.now()
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(updated_at=now)
        if new:
            Ticket.objects.filter(pk__in=[t.pk for t in new]).update(status=Status.IN_PROGRESS)
            for t in new:
                t.status = Status.IN_PROGRESS
        moved = [
            (t, e.pk, Status.NEW, Status.IN_PROGRESS)
            for t, e in zip(new, created[len(events) :], strict=True)
        ]
        signals.replies_broadcast.send(
            sender=Ticket,
            tickets=tickets,
            comments=comments,
            actor=author,
            moved=moved,
            broadcast_id=update.pk,
            headline=major_incident.title,
        )
        notify.major_incident_update_notify(
            tickets=tickets, broadcast_id=update.pk, headline=major_incident.title
        )
        return tickets


def major_incident_update_post(
    *,
    major_incident: MajorIncident,
    author: Actor,
    body: str,
    public: bool = True,
    batch_size: int = BROADCAST_BATCH_SIZE,
) -> MajorIncidentUpdate:
    """Post an update (staff only). A public one becomes a public staff reply on every
    linked open ticket, one transaction per batch, and each person of the affected sites is
    emailed once; an internal note stays on the major incident."""
    _require_staff(author)
    body = clean_text(body, field="body", max_length=50_000)
    with transaction.atomic():
        major_incident = MajorIncident.objects.select_for_update().get(pk=major_incident.pk)
        update = MajorIncidentUpdate.objects.create(
            major_incident=major_incident, author=author, body=body, public=bool(public)
        )
        if public:
            major_incident.last_public_update_at = update.created_at
            major_incident.save(update_fields=["last_public_update_at", "updated_at"])
    if not public:
        return update
    done, last_pk = 0, 0
    while True:
        batch = _broadcast_batch(
            update=update,
            major_incident=major_incident,
            author=author,
            after_pk=last_pk,
            batch_size=batch_size,
        )
        done += len(batch)
        if len(batch) < batch_size:
            break
        last_pk = batch[-1].pk
    MajorIncidentUpdate.objects.filter(pk=update.pk).update(ticket_count=done)
    update.ticket_count = done
    return update


def major_incident_resolve(
    *, major_incident: MajorIncident, actor: Actor, body: str = ""
) -> MajorIncident:
    """Resolve the major incident: post its final public update, then resolve every linked
    open ticket (each site may reopen its own, which unlinks it)."""
    _require_staff(actor)
    if (
        not MajorIncident.objects.filter(pk=major_incident.pk)
        .exclude(status=MajorIncident.Status.RESOLVED)
        .exists()
    ):
        raise Conflict("This major incident is resolved already.", field="status")
    body = body or f"The major incident \u201c{major_incident.title}\u201d is resolved."
    major_incident_update_post(major_incident=major_incident, author=actor, body=body)
    with transaction.atomic():
        major_incident = MajorIncident.objects.select_for_update().get(pk=major_incident.pk)
        if not major_incident.is_open:
            return major_incident
        major_incident.status = MajorIncident.Status.RESOLVED
        major_incident.resolved_at = timezone.now()
        major_incident.save(update_fields=["status", "resolved_at", "updated_at"])
        for ticket in major_incident.tickets.filter(status__in=OPEN_STATUSES).order_by("pk"):
            ticket_status_change(
                ticket=ticket,
                actor=actor,
                status=Status.RESOLVED,
                message=f"{major_incident} resolved.",
            )
    return major_incident


@transaction.atomic
def major_incident_tickets_open(*, major_incident: MajorIncident, actor: Actor) -> list[Ticket]:
    """Open an incident ticket, linked, for every affected site that has none linked yet,
    filed for the site's first project manager (who, with its pm and it contacts, gets the
    usual receipt). Sites without a project manager are skipped. Returns the new tickets."""
    _require_staff(actor)
    if not major_incident.is_open:
        raise Conflict("This major incident is resolved.")
    linked = major_incident.tickets.values("site_id")
    sites = list(_affected_sites(major_incident).exclude(pk__in=linked).order_by("name"))
    first_pm: dict[int, Actor] = {}
    for membership in (
        SiteMembership.objects.filter(site__in=sites, role=Role.PM, user__is_active=True)
        .select_related("user")
        .order_by("created_at", "pk")
    ):
        first_pm.setdefault(membership.site_id, membership.user)
    opened = []
    for site in sites:
        if site.pk not in first_pm:
            continue
        ticket = ticket_create(
            actor=actor,
            site=site,
            kind=Kind.INCIDENT,
            impact=major_incident.impact,
            title=major_incident.title,
            description=major_incident.summary or major_incident.title,
            reporter=first_pm[site.pk],
        )
        opened.append(ticket)
    major_incident_link(major_incident=major_incident, tickets=opened, actor=actor)
    return opened


def major_incidents_linkable_filter(major_incident: MajorIncident) -> Q:
    """Which tickets staff may link to it: open incidents of affected sites, not linked."""
    q = Q(kind=Kind.INCIDENT, status__in=OPEN_STATUSES, major_incident__isnull=True)
    if not major_incident.all_sites:
        q &= Q(site__in=major_incident.sites.all())
    return q
