"""One statement that writes several columns of many rows, each row its own values.

Django's `bulk_update` builds a CASE per row and column, which costs far more Python than
SQL for thousands of rows; on PostgreSQL this is an UPDATE ... FROM unnest(arrays), one array
parameter per column. The scan, the escalation ladder and the outbox's delivery use it.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from django.db.models import Case, Value, When


def rows_update(
    *,
    objs: Sequence[models.Model],
    fields: Sequence[str],
    where: dict[str, Any] | None = None,
) -> int:
    """Write `fields` of every object in `objs` (one model) with one statement; rows that do
    not also match `where` (column lookups, e.g. a lease token) are left alone. Returns how
    many rows were written."""
    if not objs:
        return 0
    model = type(objs[0])
    meta = model._meta
    concrete = [meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        return _rows_update_portable(model=model, objs=objs, fields=concrete, where=where or {})
    quote = connection.ops.quote_name
    pk = meta.pk
    columns = [pk.column] + [field.column for field in concrete]
    arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in [pk, *concrete])
    conditions = [f"t.{quote(pk.column)} = v.{quote(pk.column)}"]
    params: list[Any] = [[obj.pk for obj in objs]] + [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs]
        for field in concrete
    ]
    for name, value in (where or {}).items():
        field = meta.get_field(name)
        conditions.append(f"t.{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    # Only identifiers from the model's own metadata go into the text; values are parameters.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET "  # noqa: S608
        + ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns[1:])
        + f" FROM unnest({arrays}) AS v({', '.join(quote(c) for c in columns)})"
        + " WHERE "
        + " AND ".join(conditions)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _rows_update_portable(
    *, model: type[models.Model], objs: Sequence[models.Model], fields: list, where: dict
) -> int:
    """A CASE per column, in chunks that stay within the backend's parameter limit (SQLite)."""
    size = connection.ops.bulk_batch_size(["pk", "pk", *fields], objs) or len(objs)
    return sum(
        _rows_update_case(model=model, objs=objs[start : start + size], fields=fields, where=where)
        for start in range(0, len(objs), size)
    )


def _rows_update_case(
    *, model: type[models.Model], objs: Sequence[models.Model], fields: list, where: dict
) -> int:
    updates = {
        field.attname: Case(
            *[
                When(pk=obj.pk, then=Value(getattr(obj, field.attname), output_field=field))
                for obj in objs
            ],
            output_field=field,
        )
        for field in fields
    }
    return model._base_manager.filter(pk__in=[obj.pk for obj in objs], **where).update(**updates)
