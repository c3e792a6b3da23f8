"""Reads of SLA data."""

from .models import SLAPolicy


def policy_for(*, kind: str, impact: str = "") -> SLAPolicy | None:
    """The policy for this kind and impact, or None when staff removed it."""
    return (
        SLAPolicy.objects.select_related("calendar").filter(kind=kind, impact=impact or "").first()
    )
