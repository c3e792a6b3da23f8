"""Small pure helpers that turn SLA clock values into the words staff read in the queue."""

from datetime import datetime, timedelta

from tickets.models import SLAState


def duration_short(delta: timedelta) -> str:
    """`12 min`, `1 h 05 min`, `2 d 3 h`: whole minutes, rounded down, never negative."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def sla_phrase(*, state: str, due_at: datetime | None, now: datetime) -> str:
    """What follows the SLA badge: time left before the next target, or how far past it.
    Nothing when the badge says it all (Paused: no clock runs; Met with nothing due)."""
    if state == SLAState.PAUSED:
        return ""
    if due_at is None:
        return ""
    if state == SLAState.MET:
        # The first response is in; what remains due is the incident's next client update.
        if due_at > now:
            return f"next update due in {duration_short(due_at - now)}"
        return f"update overdue {duration_short(now - due_at)}"
    if due_at > now:
        return f"breaches in {duration_short(due_at - now)}"
    return f"overdue {duration_short(now - due_at)}"
