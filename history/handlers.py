"""The model signal handlers `registry.track` connects: each turns a save into a version."""

from typing import Any

from django.db import models

from . import services
from .models import Version
from .tracked import CHILDREN, TRACKED


def on_pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **_: Any):
    if raw or instance.pk is None:
        return
    services.version_before_change(instance=instance, spec=TRACKED[sender])


def on_post_save(
    sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **_: Any
):
    if raw:
        return
    action = Version.Action.CREATED if created else Version.Action.CHANGED
    services.version_record(instance=instance, spec=TRACKED[sender], action=action)


def on_post_delete(sender: type[models.Model], instance: models.Model, **_: Any):
    services.version_record(instance=instance, spec=TRACKED[sender], action=Version.Action.DELETED)


def _parent(instance: models.Model) -> models.Model | None:
    child = CHILDREN[type(instance)]
    parent_id = getattr(instance, f"{child.parent_field}_id", None)
    parent_model = type(instance)._meta.get_field(child.parent_field).related_model
    if parent_id is None:
        return None
    if not (isinstance(parent_model, type) and issubclass(parent_model, models.Model)):
        # A loaded model's relation names its class, never "self" or a string.
        raise TypeError(f"{type(instance).__name__}.{child.parent_field} names no model")
    return parent_model._default_manager.filter(pk=parent_id).first()


def on_child_pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **_):
    parent = None if raw else _parent(instance)
    if parent is not None:
        services.version_before_change(instance=parent, spec=TRACKED[type(parent)])


def on_child_changed(sender: type[models.Model], instance: models.Model, raw: bool = False, **_):
    parent = None if raw else _parent(instance)
    if parent is not None:
        services.version_record(
            instance=parent, spec=TRACKED[type(parent)], action=Version.Action.CHANGED
        )
