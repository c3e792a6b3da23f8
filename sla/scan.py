"""The periodic scan: one pass over what is due. The SLA engine fills in its own work; apps
above (escalation) add theirs with `step_register`, so the scan never imports them."""

import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from .models import ScanRun

logger = logging.getLogger(__name__)

Step = Callable[[datetime], int]
_STEPS: dict[str, Step] = {}


def step_register(name: str, step: Step) -> None:
    """Run `step(now)` in every scan pass after the SLA's own work; it returns a count that the
    scan reports under `name`."""
    _STEPS[name] = step


def sla_scan_run(*, now: datetime | None = None) -> dict[str, int]:
    """One pass of the scan; returns what it did as counts."""
    now = now or timezone.now()
    run = ScanRun.objects.create(started_at=now)
    counts: dict[str, int] = {}
    for name, step in _STEPS.items():
        counts[name] = step(now)
    run.finished_at = timezone.now()
    run.counts = counts
    run.save(update_fields=["finished_at", "counts"])
    logger.info("SLA scan at %s: %s", now.isoformat(), counts)
    return counts
