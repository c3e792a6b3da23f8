"""Back-office lists and read-only pages write every moment through the one clock face
(tickets.clockface): in the staff member's chosen zone, else the row's site's zone, else UTC,
with the zone always printed. The zones ride along on the row's query, so no query per row."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db.models import CharField, F, Value
from django.http import HttpRequest

from tickets.clockface import reading_zone, when_text


def row_zone(obj: Any):
    """The zone of an annotated row's times (see ClockFaceMixin)."""
    return reading_zone(
        preferred=getattr(obj, "viewer_timezone", ""),
        site_timezone=getattr(obj, "row_timezone", ""),
    )


def clock_column(field: str, description: str) -> Callable[[Any, Any], str]:
    """An admin column (or read-only field) showing `field` on the one clock face."""

    @admin.display(description=description, ordering=field)
    def column(self, obj: Any) -> str:
        moment: datetime | None = getattr(obj, field)
        return when_text(moment, row_zone(obj)) or "-"

    return column


class ClockFaceMixin:
    """For a ModelAdmin or inline: annotate each row with the viewer's chosen zone and the
    zone of the row's site (`site_timezone_path`, e.g. "ticket__site__timezone"; None for
    rows that belong to no site)."""

    site_timezone_path: str | None = None

    def get_queryset(self, request: HttpRequest):
        site_zone = (
            F(self.site_timezone_path)
            if self.site_timezone_path
            else Value("", output_field=CharField())
        )
        return (
            super()  # type: ignore[misc]
            .get_queryset(request)
            .annotate(
                viewer_timezone=Value(
                    getattr(request, "staff_timezone", ""), output_field=CharField()
                ),
                row_timezone=site_zone,
            )
        )
