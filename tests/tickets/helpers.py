import time_machine

from tickets import services


def file_incident(*, site, reporter, title="Platform down", impact="high", when=None):
    """A high incident filed through the service (clocks and receipts), at `when` if given."""
    fields = {
        "actor": reporter,
        "site": site,
        "kind": "incident",
        "impact": impact,
        "title": title,
        "description": "MRN 12345 cannot be admitted.",
    }
    if when is None:
        return services.ticket_create(**fields)
    with time_machine.travel(when, tick=False):
        return services.ticket_create(**fields)
