"""Which models are versioned, and how: each owning app calls `track` in its `ready()`.

Saving a tracked row (or a child row such as a calendar's working period) writes a version of
the tracked row from Django's `pre_save`/`post_save`/`post_delete`, so every path that saves it
(admin, services, commands, the shell) is recorded without each having to remember to."""

from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save

from . import handlers
from .tracked import CHILDREN, TRACKED, Child, Tracked


def _accessor(child: type[models.Model], fk: str) -> str:
    """The name the parent reads `child`'s rows by, through the child's foreign key `fk`."""
    field = child._meta.get_field(fk)
    if not isinstance(field, models.ForeignKey):
        raise TypeError(f"{child._meta.label}.{fk} is not a foreign key")
    return field.remote_field.related_name or f"{child._meta.model_name}_set"


def track(
    model: type[models.Model],
    *,
    exclude: tuple[str, ...] = (),
    secret: tuple[str, ...] = (),
    children: dict[type[models.Model], str] | None = None,
) -> None:
    """Keep versions of `model`. `children` maps a child model to its foreign key to `model`
    (the child's rows are part of the parent's snapshot and a change to them is a change of
    the parent)."""
    children = children or {}
    related = tuple(_accessor(child, fk) for child, fk in children.items())
    TRACKED[model] = Tracked(model=model, exclude=exclude, secret=secret, children=related)
    uid = f"history_{model._meta.label_lower}"
    pre_save.connect(handlers.on_pre_save, sender=model, dispatch_uid=f"{uid}_pre")
    post_save.connect(handlers.on_post_save, sender=model, dispatch_uid=f"{uid}_post")
    post_delete.connect(handlers.on_post_delete, sender=model, dispatch_uid=f"{uid}_delete")
    for child, fk in children.items():
        CHILDREN[child] = Child(model=child, parent_field=fk, exclude=("id", fk))
        cuid = f"history_{child._meta.label_lower}"
        pre_save.connect(handlers.on_child_pre_save, sender=child, dispatch_uid=f"{cuid}_pre")
        post_save.connect(handlers.on_child_changed, sender=child, dispatch_uid=f"{cuid}_post")
        post_delete.connect(handlers.on_child_changed, sender=child, dispatch_uid=f"{cuid}_del")
