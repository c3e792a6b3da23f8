"""Reads of the escalation ladder: maxima, who hears what for a site, a ticket's history, and
whether a site contact may escalate a ticket now."""

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from sla.clocks import deadline
from sla.models import SLAPolicy
from sla.selectors import policy_for
from tickets.actors import ActorOrAnonymous
from tickets.errors import Conflict, DomainError, NotAllowed
from tickets.models import FILING_ROLES, ClientSite, Ticket
from tickets.selectors import is_staff, membership_role

from .models import (
    EscalationAcknowledgement,
    EscalationContact,
    EscalationLevel,
    EscalationMaximum,
    EscalationRecord,
)

# When a kind has no maximum row (staff deleted it), it climbs as far as "everything else"
# does in the support document.
DEFAULT_MAX_LEVEL = 2
# Level 1 is the support portal itself; contacts are emailed from level 2 up.
FIRST_NOTIFIED_LEVEL = 2
ACK_SALT = "escalation.acknowledgement"


def maximum_levels() -> dict[tuple[str, str], int]:
    """{(kind, impact): max_level} for every kind, in one query."""
    return {(m.kind, m.impact): m.max_level for m in EscalationMaximum.objects.all()}


def max_level_for(*, ticket: Ticket, maximums: dict[tuple[str, str], int] | None = None) -> int:
    """The highest level this ticket may reach."""
    if maximums is None:
        maximums = maximum_levels()
    return maximums.get((ticket.kind, ticket.impact or ""), DEFAULT_MAX_LEVEL)


def policies_by_kind() -> dict[tuple[str, str], SLAPolicy]:
    """Every SLA policy with its calendar, in one query (the step needs each ticket's window)."""
    policies = SLAPolicy.objects.select_related("calendar").prefetch_related(
        "calendar__periods", "calendar__holidays"
    )
    return {(p.kind, p.impact): p for p in policies}


def level_names() -> dict[int, str]:
    return dict(EscalationLevel.objects.values_list("number", "name"))


def contacts_for_sites(*, site_ids: Iterable[int]) -> list[EscalationContact]:
    """Active contacts of level 2 and up who serve any of these sites (site-less contacts
    serve every site), in one query."""
    return list(
        EscalationContact.objects.filter(
            Q(site__isnull=True) | Q(site_id__in=set(site_ids)),
            is_active=True,
            level__number__gte=FIRST_NOTIFIED_LEVEL,
        )
        .select_related("level", "site")
        .order_by("level__number", "name", "pk")
    )


def recipients_for(
    *, contacts: Iterable[EscalationContact], site_id: int, level: int
) -> list[EscalationContact]:
    """Who hears that a ticket of this site reached `level`: every contact of levels 2 up to
    it serving the site, each email once (the lowest level's entry wins)."""
    chosen: dict[str, EscalationContact] = {}
    for contact in contacts:
        if contact.level.number > level or contact.level.number < FIRST_NOTIFIED_LEVEL:
            continue
        if contact.site_id is not None and contact.site_id != site_id:
            continue
        chosen.setdefault(contact.email.strip().lower(), contact)
    return list(chosen.values())


@dataclass
class LevelPreview:
    number: int
    name: str
    description: str
    added: list[EscalationContact] = field(default_factory=list)
    # Everyone emailed when a ticket of the site reaches this level.
    hears: list[EscalationContact] = field(default_factory=list)


def escalation_recipients_preview(*, site: ClientSite) -> list[LevelPreview]:
    """For a site, each level with the contacts it adds and everyone who hears at it."""
    contacts = contacts_for_sites(site_ids=[site.pk])
    preview = []
    for level in EscalationLevel.objects.order_by("number"):
        preview.append(
            LevelPreview(
                number=level.number,
                name=level.name,
                description=level.description,
                added=[c for c in contacts if c.level_id == level.pk],
                hears=(
                    recipients_for(contacts=contacts, site_id=site.pk, level=level.number)
                    if level.number >= FIRST_NOTIFIED_LEVEL
                    else []
                ),
            )
        )
    return preview


def escalation_support_path(*, sites: QuerySet[ClientSite]) -> list[dict[str, Any]]:
    """The support document's escalation path for each site: levels, their groups, and the
    contacts (names and roles only) who serve the site."""
    ordered = list(sites.order_by("name"))
    contacts = contacts_for_sites(site_ids=[s.pk for s in ordered])
    levels = list(EscalationLevel.objects.order_by("number"))
    return [
        {
            "site": site,
            "levels": [
                {
                    "level": level,
                    "contacts": [
                        c
                        for c in contacts
                        if c.level_id == level.pk and c.site_id in (None, site.pk)
                    ],
                }
                for level in levels
            ],
        }
        for site in ordered
    ]


def escalation_history(*, ticket: Ticket) -> QuerySet[EscalationRecord]:
    """A ticket's escalations, oldest first, with who asked and who acknowledged."""
    return (
        EscalationRecord.objects.filter(ticket=ticket)
        .select_related("actor")
        .prefetch_related(
            Prefetch(
                "acknowledgements",
                queryset=EscalationAcknowledgement.objects.order_by("acknowledged_at"),
            )
        )
        .order_by("level")
    )


def escalation_request_refusal(
    *,
    ticket: Ticket,
    actor: ActorOrAnonymous,
    now: datetime | None = None,
    max_level: int | None = None,
) -> DomainError | None:
    """Why `actor` may not escalate this ticket now (the error to raise), or None if they may.

    Site pm and it members (and staff) may, once the committed first-response time has passed
    with no response, up to the ticket's maximum level."""
    now = now or timezone.now()
    if not is_staff(actor):
        role = membership_role(user=actor, site=ticket.site)
        if role is None:
            return NotAllowed("You are not a member of this site.")
        if role not in FILING_ROLES:
            return NotAllowed("Only the site's project managers and IT staff may escalate tickets.")
    if not ticket.is_open:
        return Conflict(
            f"This ticket is {ticket.get_status_display().lower()}; it cannot be escalated.",
            code="not_open",
        )
    if ticket.responded_at is not None:
        return Conflict(
            "Rx.Health has already responded to this ticket; reply on the ticket instead.",
            code="already_responded",
        )
    if ticket.response_due_at is None:
        return DomainError(
            "This ticket has no committed response time, so it cannot be escalated.",
            code="no_commitment",
        )
    if ticket.response_due_at > now:
        due = ticket.response_due_at.astimezone(zoneinfo.ZoneInfo(ticket.site.timezone))
        return DomainError(
            "You can escalate once the committed response time has passed without a "
            f"response: a first response is due by {due:%Y-%m-%d %H:%M %Z}.",
            code="not_yet_due",
        )
    if max_level is None:
        max_level = max_level_for(ticket=ticket)
    if ticket.escalation_level >= max_level:
        return Conflict(
            f"This ticket is already at level {ticket.escalation_level}, the highest level "
            "for its kind and impact. Call the support line for urgent help.",
            code="at_maximum",
        )
    next_possible = client_escalation_next_possible(ticket=ticket)
    if next_possible is not None and next_possible > now:
        local = next_possible.astimezone(zoneinfo.ZoneInfo(ticket.site.timezone))
        return Conflict(
            "This ticket was escalated at your site's request less than one committed "
            f"response time ago. You can escalate it again from {local:%Y-%m-%d %H:%M %Z}; "
            f"for urgent help call {settings.SUPPORT_PHONE}.",
            code="too_soon",
        )
    return None


def client_escalation_next_possible(*, ticket: Ticket) -> datetime | None:
    """When a site contact may next press Escalate: one committed window (the policy's
    first-response time) after the last escalation someone asked for; None if none was."""
    last = (
        EscalationRecord.objects.filter(ticket=ticket, automatic=False)
        .order_by("-reached_at")
        .values_list("reached_at", flat=True)
        .first()
    )
    if last is None:
        return None
    policy = policy_for(kind=ticket.kind, impact=ticket.impact)
    if policy is None:
        return None
    return deadline(start=last, minutes=policy.first_response_minutes, calendar=policy.calendar)


def escalation_panel(*, ticket: Ticket, user: ActorOrAnonymous) -> dict[str, Any]:
    """What the ticket page shows: the level, the groups alerted (names, not people), and
    whether this user may press Escalate now (and if not, why)."""
    names = level_names()
    refusal = escalation_request_refusal(ticket=ticket, actor=user)
    following = ticket.escalation_level + 1
    return {
        "level": ticket.escalation_level,
        "level_name": names.get(ticket.escalation_level, ""),
        "groups": [names[n] for n in sorted(names) if n <= ticket.escalation_level],
        # What pressing Escalate would do: the level reached and every group then emailed.
        "next_level": following,
        "next_level_name": names.get(following, ""),
        "next_groups": [names[n] for n in sorted(names) if FIRST_NOTIFIED_LEVEL <= n <= following],
        "can_escalate": refusal is None,
        "refusal": refusal.message if refusal is not None else "",
        "refusal_code": refusal.code if refusal is not None else "",
    }


# Acknowledgement links ------------------------------------------------------------------


def ack_token_make(*, ticket_id: int, level: int, email: str) -> str:
    """A signed token naming one contact's copy of one escalation (expiry checked on use)."""
    return signing.dumps({"t": ticket_id, "l": level, "e": email}, salt=ACK_SALT, compress=True)


@dataclass
class AckTarget:
    record: EscalationRecord
    email: str
    contact: EscalationContact | None
    acknowledgement: EscalationAcknowledgement | None


def ack_target(*, token: str) -> AckTarget:
    """What an acknowledgement link points at; DomainError when it was altered, has expired,
    or names an escalation that no longer exists."""
    if not isinstance(token, str) or len(token) > 500:
        raise DomainError("This acknowledgement link is not valid.", code="invalid_link")
    max_age = settings.ESCALATION_ACK_MAX_AGE_HOURS * 3600
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise DomainError(
            "This acknowledgement link has expired. Open the ticket in the admin instead.",
            code="expired_link",
        ) from None
    except signing.BadSignature:
        raise DomainError("This acknowledgement link is not valid.", code="invalid_link") from None
    try:
        ticket_id, level, email = int(data["t"]), int(data["l"]), str(data["e"])
    except (KeyError, TypeError, ValueError):
        raise DomainError("This acknowledgement link is not valid.", code="invalid_link") from None
    record = (
        EscalationRecord.objects.select_related("ticket", "ticket__site")
        .filter(ticket_id=ticket_id, level=level)
        .first()
    )
    if record is None:
        raise DomainError("This escalation no longer exists.", code="invalid_link")
    contact = (
        EscalationContact.objects.filter(email__iexact=email, level__number__lte=level)
        .filter(Q(site__isnull=True) | Q(site_id=record.ticket.site_id))
        .order_by("level__number")
        .first()
    )
    acknowledgement = EscalationAcknowledgement.objects.filter(record=record, email=email).first()
    return AckTarget(record=record, email=email, contact=contact, acknowledgement=acknowledgement)
