"""Reads. Tenancy lives here: every face gets its tickets from `tickets_visible_to`."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Q, QuerySet, Subquery

from .actors import Actor, ActorOrAnonymous
from .clockface import reading_zone
from .errors import DomainError, NotAllowed
from .models import (
    FILING_ROLES,
    OPEN_STATUSES,
    Attachment,
    ClientSite,
    Comment,
    MajorIncident,
    MajorIncidentUpdate,
    Role,
    SiteMembership,
    Ticket,
    TicketEvent,
    UserPreference,
)


def is_staff(user: ActorOrAnonymous) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def sites_visible_to(user: ActorOrAnonymous) -> QuerySet[ClientSite]:
    """Staff see every site; a site contact sees the sites they are a member of."""
    if not (user.is_authenticated and user.is_active):
        return ClientSite.objects.none()
    if is_staff(user):
        return ClientSite.objects.all()
    return ClientSite.objects.filter(memberships__user=user)


def sites_where_can_file(user: ActorOrAnonymous) -> QuerySet[ClientSite]:
    """Sites where the user may file and reply (`pm` and `it` members)."""
    if not (user.is_authenticated and user.is_active):
        return ClientSite.objects.none()
    return ClientSite.objects.filter(
        is_active=True, memberships__user=user, memberships__role__in=FILING_ROLES
    )


def tickets_visible_to(user: ActorOrAnonymous) -> QuerySet[Ticket]:
    """The one tenancy rule: staff see every ticket, a site contact only their sites' tickets.

    Uses a subquery rather than a join, so rows are never duplicated and callers can add
    their own filters, ordering and counts freely.
    """
    if not (user.is_authenticated and user.is_active):
        return Ticket.objects.none()
    if is_staff(user):
        return Ticket.objects.all()
    site_ids = SiteMembership.objects.filter(user=user).values("site_id")
    return Ticket.objects.filter(site_id__in=site_ids)


def ticket_get_visible(*, user: ActorOrAnonymous, reference: str) -> Ticket:
    """The ticket with this reference if the user may see it; `Ticket.DoesNotExist` otherwise,
    so another site's ticket looks exactly like one that does not exist."""
    return (
        tickets_visible_to(user)
        .select_related("site", "reporter", "assignee")
        .get(reference=reference)
    )


def ticket_get_visible_by_jira_key(*, user: ActorOrAnonymous, jira_key: str) -> Ticket:
    """The imported ticket with this JIRA key if the user may see it; `Ticket.DoesNotExist`
    otherwise (keys are matched without regard to case, as JIRA does)."""
    return tickets_visible_to(user).get(jira_key=jira_key.strip().upper())


def tickets_search(tickets: QuerySet[Ticket], *, term: str) -> QuerySet[Ticket]:
    """Tickets whose reference or JIRA key is the term, or whose title contains it: the one
    search of the portal, the API and the back office."""
    term = term.strip()
    if not term:
        return tickets
    return tickets.filter(
        Q(reference__iexact=term) | Q(jira_key=term.upper()) | Q(title__icontains=term)
    )


def comments_visible_to(*, user: ActorOrAnonymous, ticket: Ticket) -> QuerySet[Comment]:
    """A ticket's thread as this user may read it: site contacts never see internal notes."""
    comments = Comment.objects.filter(ticket=ticket).select_related("author")
    if not is_staff(user):
        comments = comments.filter(public=True)
    return comments


def attachments_visible_to(user: ActorOrAnonymous) -> QuerySet[Attachment]:
    """Attachments of visible tickets; for site contacts, not those on internal notes."""
    attachments = Attachment.objects.filter(ticket__in=tickets_visible_to(user))
    if not is_staff(user):
        attachments = attachments.exclude(comment__public=False)
    return attachments


def membership_role(*, user: ActorOrAnonymous, site: ClientSite) -> str | None:
    """The user's role at the site (`pm`, `it`, `viewer`) or None."""
    if not user.is_authenticated:
        return None
    return (
        SiteMembership.objects.filter(user=user, site=site).values_list("role", flat=True).first()
    )


def ticket_write_refusal(*, user: ActorOrAnonymous, site: ClientSite) -> NotAllowed | None:
    """Why this user may not file, reply to or change the status of the site's tickets (the
    error the service raises), or None: staff may, and the site's pm and it members."""
    if is_staff(user):
        return None
    role = membership_role(user=user, site=site)
    if role is None:
        return NotAllowed("You are not a member of this site.")
    if role not in FILING_ROLES:
        return NotAllowed(
            "Only the site's project managers and IT staff may file or reply to tickets."
        )
    return None


def ticket_can_write(*, user: ActorOrAnonymous, ticket: Ticket) -> bool:
    """Whether the ticket page offers this user the reply box and the status buttons."""
    return ticket_write_refusal(user=user, site=ticket.site) is None


def site_manage_refusal(*, user: ActorOrAnonymous, site: ClientSite) -> NotAllowed | None:
    """Why this user may not manage the site (its members, its SLA report), or None: staff
    and the site's project managers may."""
    if is_staff(user) or membership_role(user=user, site=site) == Role.PM:
        return None
    return NotAllowed("Only the site's project managers manage its members.")


def site_can_manage(*, user: ActorOrAnonymous, site: ClientSite) -> bool:
    return site_manage_refusal(user=user, site=site) is None


def sites_managed_by(user: ActorOrAnonymous) -> QuerySet[ClientSite]:
    """The sites a site contact manages (project manager of); staff manage every site from
    the back office, so the portal's navigation lists none for them."""
    if not (user.is_authenticated and user.is_active) or is_staff(user):
        return ClientSite.objects.none()
    return ClientSite.objects.filter(memberships__user=user, memberships__role=Role.PM)


def reporter_by_username(*, actor: ActorOrAnonymous, site: ClientSite, username: str) -> Actor:
    """The active member of the site a staff member files for, named by username (the API's
    way); DomainError on the `reporter` field when the actor is not staff or no one matches."""
    if not is_staff(actor):
        raise DomainError("Only Rx.Health staff file on someone's behalf.", field="reporter")
    reporter = (
        get_user_model()
        .objects.filter(username=username, site_memberships__site=site, is_active=True)
        .first()
    )
    if reporter is None:
        raise DomainError("No active member of this site has this username.", field="reporter")
    return reporter


def site_contact_emails(*, site: ClientSite, roles=FILING_ROLES) -> list[str]:
    """Emails of the site's active members with these roles (pm and it by default)."""
    return list(
        SiteMembership.objects.filter(site=site, role__in=roles, user__is_active=True)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
        .distinct()
    )


def site_contact_emails_by_site(*, site_ids: set[int]) -> dict[int, list[str]]:
    """pm and it emails of active members, per site, for several sites in one query."""
    emails: dict[int, list[str]] = {}
    rows = (
        SiteMembership.objects.filter(
            site_id__in=site_ids, role__in=FILING_ROLES, user__is_active=True
        )
        .exclude(user__email="")
        .order_by("site_id", "user__email")
        .values_list("site_id", "user__email")
    )
    for site_id, email in rows:
        emails.setdefault(site_id, []).append(email)
    return emails


@dataclass
class MajorIncidentBanner:
    """What a site contact may know of a major incident over their sites: its public title,
    summary, status and last public update, their own linked tickets and when the next
    update is due on them; never the other affected sites."""

    id: int
    title: str
    summary: str
    status: str
    last_update_at: datetime | None
    last_update: str
    site: ClientSite
    tickets: list[str] = field(default_factory=list)
    next_update_due_at: datetime | None = None


def major_incident_banners(*, user: ActorOrAnonymous) -> list[MajorIncidentBanner]:
    """Open major incidents over the user's sites, for the dashboard banner (three queries)."""
    sites = {site.pk: site for site in sites_visible_to(user)}
    if not sites:
        return []
    last = MajorIncidentUpdate.objects.filter(major_incident=OuterRef("pk"), public=True).order_by(
        "-created_at", "-id"
    )
    incidents = (
        MajorIncident.objects.exclude(status=MajorIncident.Status.RESOLVED)
        .filter(Q(all_sites=True) | Q(sites__in=list(sites)))
        .distinct()
        .annotate(
            last_body=Subquery(last.values("body")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
            first_site=Subquery(
                MajorIncident.sites.through.objects.filter(
                    majorincident_id=OuterRef("pk"), clientsite_id__in=list(sites)
                )
                .order_by("clientsite_id")
                .values("clientsite_id")[:1]
            ),
        )
        .order_by("-created_at", "-id")
    )
    banners = {
        mi.pk: MajorIncidentBanner(
            id=mi.pk,
            title=mi.title,
            summary=mi.summary,
            status=mi.get_status_display(),
            last_update_at=mi.last_at,
            last_update=mi.last_body or "",
            site=sites.get(mi.first_site) or next(iter(sites.values())),
        )
        for mi in incidents
    }
    linked = (
        tickets_visible_to(user)
        .filter(major_incident_id__in=list(banners), status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("major_incident_id", "reference", "next_update_due_at", "site_id")
    )
    for incident_id, reference, due, site_id in linked:
        banner = banners[incident_id]
        banner.tickets.append(reference)
        banner.site = sites.get(site_id, banner.site)
        if due is not None and (
            banner.next_update_due_at is None or due < banner.next_update_due_at
        ):
            banner.next_update_due_at = due
    return list(banners.values())


def user_timezone(user: ActorOrAnonymous) -> str:
    """The time zone this person chose ("" when none: times follow each ticket's site)."""
    if not user.is_authenticated:
        return ""
    return UserPreference.objects.filter(user=user).values_list("timezone", flat=True).first() or ""


def viewer_zone(*, user: ActorOrAnonymous, site: ClientSite | None, preferred: str | None = None):
    """The zone a person reads a site's times in: their own choice, else the site's.
    `preferred` saves the query when the caller has looked the choice up already."""
    if preferred is None:
        preferred = user_timezone(user)
    return reading_zone(preferred=preferred, site_timezone=site.timezone if site else None)


@dataclass
class ThreadEntry:
    """One line of a ticket's conversation: a staff reply, a client reply, an internal note
    or an automated client update, with the author's name and role."""

    kind: str  # "staff", "client", "internal" or "automated"
    at: datetime
    author: str
    role: str
    body: str = ""
    comment: Comment | None = None
    estimate: datetime | None = None
    files: list = field(default_factory=list)


THREAD_KIND_LABELS = {
    "staff": "Public reply",
    "client": "Client reply",
    "internal": "Internal note",
    "automated": "Automated update",
}


def person_name(user) -> str:
    """How people appear in threads: their full name, else their email or username."""
    if user is None:
        return "System"
    return user.get_full_name() or user.email or user.get_username()


def ticket_thread(*, user: ActorOrAnonymous, ticket: Ticket) -> list[ThreadEntry]:
    """The conversation in time order, as this user may read it: replies, internal notes
    (staff only) and the automated client updates the SLA sent. Three queries."""
    comments = list(comments_visible_to(user=user, ticket=ticket))
    author_ids = {c.author_id for c in comments if not c.by_staff}
    roles = dict(
        SiteMembership.objects.filter(site_id=ticket.site_id, user_id__in=author_ids).values_list(
            "user_id", "role"
        )
    )
    role_labels = dict(Role.choices)
    entries = []
    for c in comments:
        if c.by_staff:
            kind, role = ("staff" if c.public else "internal"), "Rx.Health support"
        else:
            label = role_labels.get(roles.get(c.author_id) or "", "former member")
            kind, role = "client", f"{ticket.site.name}, {label}"
        entries.append(
            ThreadEntry(
                kind=kind,
                at=c.created_at,
                author=person_name(c.author),
                role=role,
                body=c.body,
                comment=c,
                estimate=c.estimated_resolution_at,
            )
        )
    updates = TicketEvent.objects.filter(
        ticket=ticket, action=TicketEvent.Action.SLA, changes__has_key="client_update_count"
    ).only("created_at", "message", "changes")
    for event in updates:
        entries.append(
            ThreadEntry(
                kind="automated",
                at=event.created_at,
                author="Rx.Health support portal",
                role="Automated status update",
                body=event.message,
            )
        )
    entries.sort(key=lambda e: e.at)
    return entries
