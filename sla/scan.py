"""The periodic scan: one pass over what is due. Filled in by the SLA engine."""

import logging
from dataclasses import asdict, dataclass

logger = logging.getLogger(__name__)


@dataclass
class ScanResult:
    at_risk_warnings: int = 0
    response_breaches: int = 0
    client_updates: int = 0
    update_warnings: int = 0
    escalations: int = 0
    notifications_delivered: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def sla_scan_run() -> ScanResult:
    """One pass of the scan; returns what it did as counts."""
    result = ScanResult()
    logger.info("SLA scan: %s", result.as_dict())
    return result
