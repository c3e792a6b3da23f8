"""What is versioned: the tracked models and their child models, as the owning apps
registered them with `history.registry.track` (read by the handlers and the services)."""

from dataclasses import dataclass, field

from django.db import models


@dataclass(frozen=True)
class Tracked:
    model: type[models.Model]
    # Fields never kept, e.g. bookkeeping that changes without anyone changing the row.
    exclude: tuple[str, ...] = ()
    # Fields whose value must never be stored: a version says only that they changed.
    secret: tuple[str, ...] = ()
    # Related names of child rows kept inside the parent's snapshot (a calendar's periods).
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class Child:
    model: type[models.Model]
    parent_field: str
    exclude: tuple[str, ...] = field(default=())


TRACKED: dict[type[models.Model], Tracked] = {}
CHILDREN: dict[type[models.Model], Child] = {}
