"""The evidence pack's sections from the apps beside it: which SLA policy version each ticket
ran on (`sla`), and the client's ratings (`satisfaction`). Registered in `EvidenceConfig.ready`
through `pack_section_register`; each costs one query per pack."""

from datetime import datetime

from django.db.models import QuerySet

from satisfaction.models import TicketRating
from sla.models import TicketPolicyRun
from sla.policy_runs import policy_run_words
from tickets.clockface import when_text, zone_named
from tickets.models import ClientSite, Ticket

from .pack import PackSection


def policy_versions_section(
    site: ClientSite, tickets: QuerySet[Ticket], start: datetime, end: datetime
) -> PackSection | None:
    """Each ticket of the month with the policy version it ran on, from when and why."""
    runs = (
        TicketPolicyRun.objects.filter(ticket__in=tickets)
        .select_related("ticket", "policy_version", "calendar_version")
        .order_by("ticket__reference", "since", "id")
    )
    zone = zone_named(site.timezone)
    rows = [
        [run.ticket.reference, when_text(run.since, zone), policy_run_words(run), run.reason]
        for run in runs
    ]
    if not rows:
        return None
    return PackSection(
        title="SLA policy versions the tickets ran on",
        columns=["Ticket", "Since", "Policy", "Why"],
        rows=rows,
    )


def ratings_section(
    site: ClientSite, tickets: QuerySet[Ticket], start: datetime, end: datetime
) -> PackSection | None:
    """The ratings the site's people gave in the month."""
    ratings = (
        TicketRating.objects.filter(ticket__site=site, rated_at__gte=start, rated_at__lt=end)
        .select_related("ticket")
        .order_by("rated_at", "id")
    )
    zone = zone_named(site.timezone)
    rows = [
        [r.ticket.reference, when_text(r.rated_at, zone), r.get_choice_display(), r.comment]
        for r in ratings
    ]
    if not rows:
        return None
    return PackSection(
        title="Client ratings", columns=["Ticket", "Rated", "Rating", "Comment"], rows=rows
    )
