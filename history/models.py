"""Versions of configuration rows (SLA policies, business calendars, escalation contacts, API
tokens, webhook endpoints): who changed what, when, with a snapshot of the row after the change.

The apps that own the rows say which are kept (`history.registry.track`, in their `apps.py`);
this app knows none of them, so it sits at the bottom of the domain beside `tickets`.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Version(models.Model):
    """One state of one tracked row: number 1 is the first one recorded."""

    class Action(models.TextChoices):
        CREATED = "created", "created"
        CHANGED = "changed", "changed"
        DELETED = "deleted", "deleted"
        # A row that existed before history was kept, recorded as it was first found.
        FOUND = "found", "recorded as found"

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    number = models.PositiveIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    object_repr = models.CharField(max_length=200)
    snapshot = models.JSONField(default=dict)
    # The fields whose values differ from the previous version ("secret" is named, never kept).
    changed_fields = models.JSONField(default=list, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as text too, so the record outlives a deleted account.
    actor_name = models.CharField(max_length=254, blank=True)
    at = models.DateTimeField()
    # Saves within one request or service call (a calendar and its inline periods) make one
    # version; rows of the same change set share this key.
    change_set = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "number"], name="version_number_once"
            )
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-number"], name="version_of_object")
        ]

    def __str__(self) -> str:
        return f"{self.object_repr}, version {self.number}"

    @property
    def who(self) -> str:
        return self.actor_name or "the system"
