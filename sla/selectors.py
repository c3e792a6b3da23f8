"""Reads of SLA data."""

from .models import ScanRun, SLAPolicy


def policy_for(*, kind: str, impact: str = "") -> SLAPolicy | None:
    """The policy for this kind and impact, or None when staff removed it."""
    return (
        SLAPolicy.objects.select_related("calendar").filter(kind=kind, impact=impact or "").first()
    )


def scan_last() -> ScanRun | None:
    """The most recent scan pass, or None before the first."""
    return ScanRun.objects.order_by("-started_at").first()
