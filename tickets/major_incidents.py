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

from .actors import Actor
from .errors import Conflict, DomainError
from .major_incident_broadcast import BROADCAST_BATCH_SIZE as BROADCAST_BATCH_SIZE
from .major_incident_broadcast import _require_staff
from .major_incident_broadcast import major_incident_update_post as major_incident_update_post
from .models import (
    OPEN_STATUSES,
    ClientSite,
    Impact,
    Kind,
    MajorIncident,
    Role,
    SiteMembership,
    Status,
    Ticket,
    TicketEvent,
)
from .selectors import is_staff
from .services import clean_text, ticket_create, ticket_status_change

_UNSET: Any = object()


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
