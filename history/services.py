"""Writes of the configuration history: one version per change of a tracked row.

Saves within one change set (a request, or a `history_actor` block) fold into one version, so
a calendar saved with its working periods and holidays in one admin form is one version, not
one per row. A save that changes nothing kept writes nothing."""

import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from .context import current_actor, current_change_set, current_label
from .models import Version
from .tracked import CHILDREN, TRACKED, Tracked

SECRET_MARK = "(set, not stored)"  # noqa: S105 - a label, not a secret
LABELS = "_labels"  # FK labels kept for people reading the snapshot; not compared


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _fields(instance: models.Model, exclude: tuple[str, ...]) -> tuple[dict, dict]:
    values, labels = {}, {}
    for field in instance._meta.concrete_fields:
        if field.name in exclude or field.attname in exclude:
            continue
        if field.is_relation:
            values[field.name] = getattr(instance, field.attname)
            related = getattr(instance, field.name, None) if values[field.name] else None
            if related is not None:
                labels[field.name] = str(related)[:200]
        else:
            values[field.name] = field.value_from_object(instance)
    return _plain(values), labels


def snapshot(instance: models.Model, spec: Tracked) -> dict[str, Any]:
    """The row as kept: its fields (secrets only marked), its child rows, FK labels."""
    values, labels = _fields(instance, spec.exclude)
    for name in spec.secret:
        values[name] = SECRET_MARK if getattr(instance, name, "") else ""
    for related in spec.children:
        rows = list(getattr(instance, related).all()) if instance.pk else []
        if rows:
            child_spec = CHILDREN[type(rows[0])]
            values[related] = [_fields(r, child_spec.exclude)[0] for r in rows]
        else:
            values[related] = []
    values[LABELS] = labels
    return values


# Left on a tracked instance between its pre_save and its post_save (any model, so not a
# declared attribute): the names of the secret fields this save changes.
CHANGED_NOTE = "_history_secret_changed"


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    names = (set(before) | set(after)) - {LABELS}
    return sorted(n for n in names if before.get(n) != after.get(n))


def _actor_fields() -> dict[str, Any]:
    actor = current_actor()
    if actor is None:
        return {"actor": None, "actor_name": current_label()[:254]}
    name = actor.get_full_name() or actor.get_username()
    return {"actor": actor, "actor_name": f"{name} ({actor.get_username()})"[:254]}


def _latest(ct: ContentType, pk: int) -> Version | None:
    return Version.objects.filter(content_type=ct, object_id=pk).order_by("-number").first()


def version_before_change(*, instance: models.Model, spec: Tracked) -> None:
    """Before a tracked row (or one of its children) is saved: a row from before history was
    kept gets its stored state recorded first ("recorded as found"); a secret field that is
    about to change is noted on the instance, so the version can say so without keeping it."""
    stored = type(instance)._default_manager.filter(pk=instance.pk).first()
    if stored is None:
        return
    if spec.secret:
        setattr(
            instance,
            CHANGED_NOTE,
            [n for n in spec.secret if getattr(stored, n) != getattr(instance, n)],
        )
    ct = ContentType.objects.get_for_model(type(instance))
    if not Version.objects.filter(content_type=ct, object_id=instance.pk).exists():
        Version.objects.create(
            content_type=ct,
            object_id=instance.pk,
            number=1,
            action=Version.Action.FOUND,
            object_repr=str(stored)[:200],
            snapshot=snapshot(stored, spec),
            at=timezone.now(),
        )


@transaction.atomic
def version_record(*, instance: models.Model, spec: Tracked, action: str) -> Version | None:
    """Record the row's state after a change (or its last state, deleted); returns the version
    written or updated, or None when nothing kept changed."""
    ct = ContentType.objects.get_for_model(type(instance))
    state = snapshot(instance, spec)
    secrets_changed = list(getattr(instance, CHANGED_NOTE, []))
    setattr(instance, CHANGED_NOTE, [])
    latest = _latest(ct, instance.pk)
    change_set = current_change_set()
    if latest is not None and change_set and latest.change_set == change_set:
        # Same change set: fold this save into the version it already wrote.
        previous = (
            Version.objects.filter(content_type=ct, object_id=instance.pk, number__lt=latest.number)
            .order_by("-number")
            .first()
        )
        changed = _diff(previous.snapshot if previous else {}, state)
        latest.changed_fields = sorted(
            set(changed) | set(latest.changed_fields) | set(secrets_changed)
        )
        latest.snapshot = state
        latest.object_repr = str(instance)[:200]
        if action == Version.Action.DELETED:
            latest.action = action
        latest.save(update_fields=["changed_fields", "snapshot", "object_repr", "action"])
        return latest
    if action == Version.Action.CREATED or latest is None:
        changed = _diff({}, state)
    else:
        changed = sorted(set(_diff(latest.snapshot, state)) | set(secrets_changed))
        if not changed and action != Version.Action.DELETED:
            return None
    return Version.objects.create(
        content_type=ct,
        object_id=instance.pk,
        number=(latest.number + 1) if latest else 1,
        action=action,
        object_repr=str(instance)[:200],
        snapshot=state,
        changed_fields=changed,
        at=timezone.now(),
        change_set=change_set,
        **_actor_fields(),
    )


def version_current(*, instance: models.Model) -> Version:
    """The version a tracked row is at now; a row from before history was kept is recorded as
    found (version 1) first."""
    ct = ContentType.objects.get_for_model(type(instance))
    latest = _latest(ct, instance.pk)
    if latest is not None:
        return latest
    return Version.objects.create(
        content_type=ct,
        object_id=instance.pk,
        number=1,
        action=Version.Action.FOUND,
        object_repr=str(instance)[:200],
        snapshot=snapshot(instance, TRACKED[type(instance)]),
        at=timezone.now(),
    )
