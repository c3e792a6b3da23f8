import datetime

import time_machine

from evidence.services import evidence_seal
from tests.sla.helpers import file_ticket, scan_at

from .conftest import MONDAY

HOUR = datetime.timedelta(hours=1)


def seal_at(when: datetime.datetime) -> int:
    with time_machine.travel(when, tick=False):
        return evidence_seal()


def breached_incident(*, pm, site, at=MONDAY):
    """A high incident filed at `at`, unanswered past its 1-hour first response: the scan
    breaches it, escalates it and emails people; then everything is sealed."""
    ticket = file_ticket(actor=pm, site=site, impact="high", at=at)
    scan_at(at + HOUR + datetime.timedelta(minutes=1))
    seal_at(at + HOUR + datetime.timedelta(minutes=2))
    return ticket
