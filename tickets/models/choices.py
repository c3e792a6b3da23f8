"""The ticketing domain's choices and the values shared by its models."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example America/New_York).")


class Kind(models.TextChoices):
    GENERAL = "general", "General request / Q&A"
    TASK = "task", "Routine task"
    CHANGE = "change", "Change request"
    INCIDENT = "incident", "Incident: performance issue or outage"


class Impact(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Status(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_CLIENT = "waiting_on_client", "Waiting on client"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING_ON_CLIENT)


class SLAState(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"
    PAUSED = "paused", "Paused"


class Role(models.TextChoices):
    PM = "pm", "Project manager"
    IT = "it", "IT"
    VIEWER = "viewer", "Viewer"


FILING_ROLES = (Role.PM, Role.IT)
