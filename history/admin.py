"""The configuration history in the back office: every version, read-only, and on each
tracked object's page a "Configuration history" box with its latest versions.

`VersionHistoryMixin` goes first in a tracked ModelAdmin's bases."""

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from portal.backoffice.clock import ClockFaceMixin, clock_column
from portal.backoffice.records import StaffRecordMixin
from tickets.clockface import when_text

from .models import Version
from .selectors import versions_of
from .services import LABELS

ROWS_ON_OBJECT_PAGE = 10


def version_url(version: Version) -> str:
    return reverse("admin:history_version_change", args=[version.pk])


def versions_url(*, model: type[models.Model], object_id: int) -> str:
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(model)
    base = reverse("admin:history_version_changelist")
    return f"{base}?content_type__id__exact={ct.pk}&object_id={object_id}"


def _changed_text(version: Version) -> str:
    if version.action == Version.Action.CREATED:
        return "created"
    if version.action == Version.Action.FOUND:
        return "as it was when history began"
    if version.action == Version.Action.DELETED:
        return "deleted"
    return ", ".join(version.changed_fields) or "—"


def versions_table(*, model: type[models.Model], object_id: int | None) -> SafeString | str:
    """A small table of an object's latest versions, each linking to its snapshot."""
    if object_id is None:
        return "—"
    versions = list(versions_of(model=model, object_id=object_id)[:ROWS_ON_OBJECT_PAGE])
    if not versions:
        return "No change recorded yet."
    zone = timezone.get_current_timezone()
    rows = format_html_join(
        "",
        '<tr><td><a href="{}">version {}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (version_url(v), v.number, when_text(v.at, zone), v.who, _changed_text(v))
            for v in versions
        ),
    )
    return format_html(
        '<table class="version-history"><thead><tr><th>version</th><th>when</th><th>who</th>'
        "<th>what changed</th></tr></thead><tbody>{}</tbody></table>"
        '<p><a href="{}">Every version of this {}</a></p>',
        rows,
        versions_url(model=model, object_id=object_id),
        model._meta.verbose_name,
    )


class VersionHistoryMixin:
    """Adds the read-only "Configuration history" box to a tracked object's change page."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [*fields, "configuration_history"] if obj is not None else fields

    @admin.display(description="configuration history")
    def configuration_history(self, obj: Any) -> SafeString | str:
        return versions_table(model=type(obj), object_id=obj.pk)


@admin.register(Version)
class VersionAdmin(StaffRecordMixin, ClockFaceMixin, admin.ModelAdmin):
    """Versions are the record: nobody adds, edits or deletes them here."""

    list_display = ["object_repr", "number", "content_type", "action", "changed", "when", "who"]
    list_filter = ["content_type", "action"]
    list_select_related = ["content_type"]
    search_fields = ["object_repr", "actor_name"]
    date_hierarchy = "at"
    fields = (
        "object_repr",
        "content_type",
        "object_id",
        "number",
        "action",
        "when",
        "who",
        "changed",
        "snapshot_table",
    )
    readonly_fields = fields
    when = clock_column("at", "when")

    @admin.display(description="who")
    def who(self, version: Version) -> str:
        return version.who

    @admin.display(description="what changed")
    def changed(self, version: Version) -> str:
        return _changed_text(version)

    @admin.display(description="the row in this version")
    def snapshot_table(self, version: Version) -> SafeString:
        labels = version.snapshot.get(LABELS, {})
        changed = set(version.changed_fields)

        def shown(name: str, value: Any) -> str:
            if isinstance(value, list) and value and isinstance(value[0], dict):
                return "; ".join(", ".join(f"{k} {v}" for k, v in row.items()) for row in value)
            if name in labels:
                return f"{labels[name]} (#{value})"
            return "—" if value in (None, "", []) else str(value)

        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            (
                (name, shown(name, value), "changed" if name in changed else "")
                for name, value in version.snapshot.items()
                if name != LABELS
            ),
        )
        return format_html('<table class="version-snapshot"><tbody>{}</tbody></table>', rows)
