"""Reads. Tenancy lives here: every face gets its tickets from `tickets_visible_to`."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from .models import (
    FILING_ROLES,
    Attachment,
    ClientSite,
    Comment,
    Role,
    SiteMembership,
    Ticket,
)

User = AbstractBaseUser | AnonymousUser


def is_staff(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def sites_visible_to(user: User) -> QuerySet[ClientSite]:
    """Staff see every site; a site contact sees the sites they are a member of."""
    if not (user.is_authenticated and user.is_active):
        return ClientSite.objects.none()
    if is_staff(user):
        return ClientSite.objects.all()
    return ClientSite.objects.filter(memberships__user=user)


def sites_where_can_file(user: User) -> QuerySet[ClientSite]:
    """Sites where the user may file and reply (`pm` and `it` members)."""
    if not (user.is_authenticated and user.is_active):
        return ClientSite.objects.none()
    return ClientSite.objects.filter(
        is_active=True, memberships__user=user, memberships__role__in=FILING_ROLES
    )


def tickets_visible_to(user: User) -> QuerySet[Ticket]:
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


def ticket_get_visible(*, user: User, reference: str) -> Ticket:
    """The ticket with this reference if the user may see it; `Ticket.DoesNotExist` otherwise,
    so another site's ticket looks exactly like one that does not exist."""
    return (
        tickets_visible_to(user)
        .select_related("site", "reporter", "assignee")
        .get(reference=reference)
    )


def ticket_get_visible_by_jira_key(*, user: User, jira_key: str) -> Ticket:
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


def comments_visible_to(*, user: User, ticket: Ticket) -> QuerySet[Comment]:
    """A ticket's thread as this user may read it: site contacts never see internal notes."""
    comments = Comment.objects.filter(ticket=ticket).select_related("author")
    if not is_staff(user):
        comments = comments.filter(public=True)
    return comments


def attachments_visible_to(user: User) -> QuerySet[Attachment]:
    """Attachments of visible tickets; for site contacts, not those on internal notes."""
    attachments = Attachment.objects.filter(ticket__in=tickets_visible_to(user))
    if not is_staff(user):
        attachments = attachments.exclude(comment__public=False)
    return attachments


def membership_role(*, user: User, site: ClientSite) -> str | None:
    """The user's role at the site (`pm`, `it`, `viewer`) or None."""
    if not user.is_authenticated:
        return None
    return (
        SiteMembership.objects.filter(user=user, site=site).values_list("role", flat=True).first()
    )


def can_file_at(*, user: User, site: ClientSite) -> bool:
    return membership_role(user=user, site=site) in (Role.PM, Role.IT)


def site_contact_emails(*, site: ClientSite, roles=FILING_ROLES) -> list[str]:
    """Emails of the site's active members with these roles (pm and it by default)."""
    return list(
        SiteMembership.objects.filter(site=site, role__in=roles, user__is_active=True)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
        .distinct()
    )
