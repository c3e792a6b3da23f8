"""Reads of the configuration history."""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from .models import Version


def versions_of(*, model: type[models.Model], object_id: int) -> QuerySet[Version]:
    """A row's versions, newest first."""
    ct = ContentType.objects.get_for_model(model)
    return Version.objects.filter(content_type=ct, object_id=object_id).order_by("-number")
