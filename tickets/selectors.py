"""Reads. Tenancy lives here: every face gets its tickets from `tickets_visible_to`."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

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
