from typing import Any

from django.apps import AppConfig


class SatisfactionConfig(AppConfig):
    name = "satisfaction"
    verbose_name = "Client satisfaction"

    def ready(self) -> None:
        from tickets import notify

        notify.reporter_extras_register(_rating_links)


def _rating_links(ticket: Any, event: str, sequence: int) -> dict[str, Any] | None:
    """The reporter's "resolved" email carries the signed good/bad links of this resolution
    (`sequence`: the status change's history entry)."""
    from tickets import notify

    from .links import rating_links

    if event != notify.Event.STATUS_RESOLVED or not sequence:
        return None
    return {
        "rating": rating_links(
            ticket_id=ticket.pk, user_id=ticket.reporter_id, resolution_id=sequence
        )
    }
