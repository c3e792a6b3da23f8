"""Site memberships: who may file, reply and read for a site, and their history."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from ..account_mail import invitation_enqueue
from ..actors import Actor
from ..errors import Conflict, DomainError
from ..models import (
    ClientSite,
    MembershipEvent,
    Role,
    SiteMembership,
)
from ..selectors import site_manage_refusal
from .common import clean_text

User = get_user_model()


@transaction.atomic
def membership_set(
    *, site: ClientSite, user: Actor, role: str, actor: Actor | None = None
) -> SiteMembership:
    """Give a user a role at a site, or change it."""
    if role not in Role.values:
        raise DomainError(f"Choose one of: {', '.join(Role.values)}.", field="role")
    with transaction.atomic():
        before = (
            SiteMembership.objects.select_for_update()
            .filter(user=user, site=site)
            .values_list("role", flat=True)
            .first()
        )
        membership, created = SiteMembership.objects.update_or_create(
            user=user, site=site, defaults={"role": role}
        )
        if created:
            _membership_record(
                site=site, member=user, actor=actor, action=MembershipEvent.Action.ADDED, after=role
            )
        elif before != role:
            _membership_record(
                site=site,
                member=user,
                actor=actor,
                action=MembershipEvent.Action.ROLE_CHANGED,
                before=before or "",
                after=role,
            )
    return membership


def _membership_record(
    *,
    site: ClientSite,
    member: Actor,
    actor: Actor | None,
    action: str,
    before: str = "",
    after: str = "",
) -> None:
    MembershipEvent.objects.create(
        site=site,
        member=member,
        member_name=member.email or member.get_username(),
        actor=actor,
        actor_name=(actor.email or actor.get_username()) if actor is not None else "",
        action=action,
        role_before=before or "",
        role_after=after or "",
    )


def _require_site_manager(*, actor: Actor, site: ClientSite) -> None:
    refusal = site_manage_refusal(user=actor, site=site)
    if refusal is not None:
        raise refusal


def _keep_one_pm(*, site: ClientSite, leaving: SiteMembership) -> None:
    """Refuse to leave a site without a project manager: requests must come through one."""
    if leaving.role != Role.PM:
        return
    pms = list(
        SiteMembership.objects.select_for_update()
        .filter(site=site, role=Role.PM)
        .values_list("pk", flat=True)
    )
    if pms == [leaving.pk]:
        raise Conflict(
            "A site needs at least one project manager: make someone else a project manager first.",
            field="role",
        )


@transaction.atomic
def membership_invite(
    *, site: ClientSite, email: str, role: str, actor: Actor, name: str = ""
) -> tuple[SiteMembership, bool]:
    """Give the person with this email a role at the site (pm only), creating their account
    (named `name`) without a password when they have none, and write their invitation email
    to the outbox. Returns the membership and whether the account is new."""
    _require_site_manager(actor=actor, site=site)
    email = clean_text(email, field="email", max_length=254).lower()
    first, _, last = clean_text(name, field="name", max_length=150, required=False).partition(" ")
    if role not in Role.values:
        raise DomainError(f"Choose one of: {', '.join(Role.values)}.", field="role")
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if len(matches) > 1:
        raise Conflict(
            "Several accounts use this email; ask Rx.Health support to add this person.",
            field="email",
        )
    if matches and matches[0].is_staff:
        raise DomainError("This address belongs to Rx.Health staff.", field="email")
    try:
        # A savepoint, so two managers inviting the same person at once get a clear answer.
        with transaction.atomic():
            if matches:
                user = matches[0]
            else:
                username = email[:150]
                n = 1
                while User.objects.filter(username=username).exists():
                    n += 1
                    username = f"{email[: 150 - len(str(n)) - 1]}-{n}"
                user = User(username=username, email=email, first_name=first, last_name=last)
                user.set_unusable_password()
                user.save()
            membership = SiteMembership.objects.create(site=site, user=user, role=role)
    except IntegrityError as exc:
        raise Conflict("This person is already a member of the site.", field="email") from exc
    _membership_record(
        site=site, member=user, actor=actor, action=MembershipEvent.Action.INVITED, after=role
    )
    invitation_enqueue(membership=membership, new_account=not matches, inviter=actor)
    return membership, not matches


@transaction.atomic
def membership_role_change(
    *, site: ClientSite, user: Actor, role: str, actor: Actor
) -> SiteMembership:
    """Change a member's role at the site (pm only); the last project manager stays one."""
    _require_site_manager(actor=actor, site=site)
    membership = SiteMembership.objects.select_for_update().get(site=site, user=user)
    if role not in Role.values:
        raise DomainError(f"Choose one of: {', '.join(Role.values)}.", field="role")
    if role != Role.PM:
        _keep_one_pm(site=site, leaving=membership)
    return membership_set(site=site, user=user, role=role, actor=actor)


@transaction.atomic
def membership_remove(*, site: ClientSite, user: Actor, actor: Actor) -> None:
    """Remove a member from the site (pm only); the last project manager stays."""
    _require_site_manager(actor=actor, site=site)
    membership = SiteMembership.objects.select_for_update().get(site=site, user=user)
    _keep_one_pm(site=site, leaving=membership)
    membership.delete()
    _membership_record(
        site=site,
        member=user,
        actor=actor,
        action=MembershipEvent.Action.REMOVED,
        before=membership.role,
    )
