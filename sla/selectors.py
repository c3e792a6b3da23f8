"""Reads of SLA data."""

from .models import ScanRun, SLAPolicy


def policy_for(*, kind: str, impact: str = "") -> SLAPolicy | None:
    """The policy for this kind and impact, or None when staff removed it."""
    return (
        SLAPolicy.objects.select_related("calendar").filter(kind=kind, impact=impact or "").first()
    )


def policies_for(*, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], SLAPolicy]:
    """The policies for several (kind, impact) pairs in one query, keyed by the pair."""
    kinds = {kind for kind, _ in pairs}
    return {
        (policy.kind, policy.impact): policy
        for policy in SLAPolicy.objects.select_related("calendar").filter(kind__in=kinds)
        if (policy.kind, policy.impact) in {(k, i or "") for k, i in pairs}
    }


def scan_last() -> ScanRun | None:
    """The most recent scan pass, or None before the first."""
    return ScanRun.objects.order_by("-started_at").first()


def duration_words(minutes: int) -> str:
    """60 -> "1 hour", 90 -> "1 hour 30 minutes", 480 -> "8 hours"."""
    hours, rest = divmod(int(minutes), 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


def policy_commitment(policy: SLAPolicy) -> str:
    """The commitment in words, as the receipt states it, e.g. "first response within 1 hour;
    a status update every 1 elapsed hour while the incident is open"."""
    words = f"first response within {duration_words(policy.first_response_minutes)}"
    if policy.calendar is not None:
        words += f" of business hours ({policy.calendar.name})"
    if policy.requires_estimate:
        words += ", with an estimated resolution time"
    if policy.update_every_minutes:
        words += (
            f"; a status update every {duration_words(policy.update_every_minutes)} "
            "(elapsed time) while the incident is open"
        )
    return words
