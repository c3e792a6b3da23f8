"""One statement that writes many rows, each with its own values.

Django's `bulk_create` and `bulk_update` prepare every value of every row through the field
API (and `bulk_update` builds a CASE per row and column), which costs far more Python than
SQL for thousands of rows. On PostgreSQL these helpers send the rows as one JSON document
instead: INSERT ... SELECT FROM jsonb_to_recordset(%s::jsonb), and UPDATE ... FROM
jsonb_to_recordset(%s::jsonb). The document is parsed once, as jsonb (json_to_recordset would
parse every jsonb value, such as an email's context, a second time). orjson writes it: in a
mass breach it is megabytes, which orjson writes in about a sixth of the standard library's
time. The scan, the escalation ladder and the outbox's delivery use them.
"""

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from django.db import connection, models
from django.db.models import Case, Value, When
from django.db.models.options import Options
from django.utils import timezone


def _cast_type(field: models.Field) -> str:
    """The type a parameter is cast to for `field`'s column."""
    # Field.cast_db_type is Django's (since 1.11); django-stubs does not declare it.
    return field.cast_db_type(connection)  # type: ignore[attr-defined]


def _jsonable(field: models.Field) -> Callable[[Any], Any] | None:
    """How a value of `field` becomes JSON; None when orjson writes it as it is (dates and
    moments in ISO 8601, as `isoformat` does; UUIDs)."""
    if isinstance(field, models.DecimalField):
        return lambda value: str(value) if value is not None else None
    return None


def _document(records: list[dict]) -> str:
    """The rows as one JSON text (keys that are not strings become strings, as json.dumps
    makes them)."""
    return orjson.dumps(records, option=orjson.OPT_NON_STR_KEYS).decode()


def _record_maker(
    columns: Sequence[tuple[Any, str, models.Field]], *, also: Sequence[tuple[Any, str]] = ()
) -> Callable[[Any], dict]:
    """A function from a row to its JSON object {column: value}, for (key, column, field)
    triples (`key` indexes the row) and (key, column) pairs `also` taken as they are. Values
    that are JSON as they are go without a call."""
    how = [(key, column, _jsonable(field)) for key, column, field in columns]
    plain = [(key, column) for key, column, convert in how if convert is None] + list(also)
    converted = [(key, column, convert) for key, column, convert in how if convert is not None]

    def record(row: Any) -> dict:
        values = {column: row[key] for key, column in plain}
        for key, column, convert in converted:
            values[column] = convert(row[key])
        return values

    return record


def _column_field(meta: Options, name: str) -> models.Field:
    """The concrete field `name` of the model (these helpers write columns, not relations)."""
    field = meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise TypeError(f"{meta.label}.{name} is not a column")
    return field


def _execute(sql: str, params: Sequence[Any]) -> int:
    """Run one of these statements on PostgreSQL with its parameters bound by the server, and
    return how many rows it wrote. Django binds on the client by default: the document (some
    megabytes in a mass breach) would be quoted into the statement's text here and lexed again
    there; bound, it travels as a parameter of its own. The cursor is wrapped as Django wraps
    its own (execute wrappers, query logging, error translation)."""
    import psycopg

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = psycopg.Cursor(connection.connection)
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    # django-stubs types the argument as the wrapper; Django passes the driver's cursor.
    with wrap(raw) as cursor:  # type: ignore[arg-type]
        cursor.execute(sql, params)
        return cursor.rowcount


def _recordset(fields: Sequence[models.Field], objs: Sequence[models.Model], values) -> tuple:
    """(`jsonb_to_recordset(%s::jsonb) AS v(col type, ...)`, the JSON text) for these rows."""
    quote = connection.ops.quote_name
    cast = [(f.column, _cast_type(f)) for f in fields]
    columns = ", ".join(f"{quote(column)} {db_type}" for column, db_type in cast)
    record = _record_maker([(index, f.column, f) for index, f in enumerate(fields)])
    document = _document([record(row) for row in values])
    return f"jsonb_to_recordset(%s::jsonb) AS v({columns})", document


def rows_insert(*, objs: Sequence[models.Model], ignore_conflicts: bool = False) -> None:
    """Insert unsaved objects of one model with one statement (no primary keys are set on
    them); with `ignore_conflicts`, rows that would break a unique constraint are skipped."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create(objs, ignore_conflicts=ignore_conflicts)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    auto = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    for obj in objs:
        for field in auto:
            field.pre_save(obj, add=True)
    names = [f.attname for f in fields]
    source, document = _recordset(
        fields, objs, ([getattr(obj, name) for name in names] for obj in objs)
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    # Only identifiers from the model's own metadata go into the text; values are a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {columns} FROM {source}" + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
    )
    _execute(sql, [document])


def _one_value(field: models.Field, values: Sequence[Any]) -> bool:
    """Whether this column holds the same value in all of several rows, so it can be sent once
    as a parameter (JSON columns always stay in the document)."""
    if len(values) < 2 or isinstance(field, models.JSONField):
        return False
    return all(value == values[0] for value in values)


def values_insert(
    *,
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    fan_out: str | None = None,
    ignore_conflicts: bool = False,
) -> None:
    """Insert rows given as {attname: value} (the same keys in every row) with one statement,
    without building model instances; left-out columns take their defaults (auto_now: now).
    With `fan_out`, that key holds a list and each element makes a row of its own (one per
    recipient of one context), expanded by PostgreSQL, so the rest is sent once."""
    if not rows:
        return
    meta = model._meta
    given = [_column_field(meta, name) for name in rows[0]]
    if connection.vendor != "postgresql":
        objs = []
        for row in rows:
            for value in row[fan_out] if fan_out else [None]:
                objs.append(model(**(dict(row, **{fan_out: value}) if fan_out else row)))
        model._base_manager.bulk_create(objs, ignore_conflicts=ignore_conflicts)
        return
    quote = connection.ops.quote_name
    now = timezone.now()
    rest = [f for f in meta.concrete_fields if not f.primary_key and f not in given]
    stamped = [getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in rest]
    defaults = [now if stamp else f.get_default() for f, stamp in zip(rest, stamped, strict=True)]
    spread = [f for f in given if f.attname == fan_out]
    plain = [f for f in given if f.attname != fan_out]
    # A column with the same value in every row (the channel, the moment, the actor) is sent
    # once as a parameter: the document, built here and parsed there, carries only the rest.
    same = [f for f in plain if _one_value(f, [row[f.attname] for row in rows])]
    if same and len(same) == len(plain) and not spread:
        same.pop()  # the recordset needs a column
    plain = [f for f in plain if f not in same]
    columns = ", ".join(f"{quote(f.column)} {_cast_type(f)}" for f in plain)
    if spread:
        columns += f", {quote(spread[0].column)} jsonb"
    record = _record_maker(
        [(f.attname, f.column, f) for f in plain],
        also=[(fan_out, spread[0].column)] if spread and fan_out else [],
    )
    document = _document([record(row) for row in rows])
    selected = [f"v.{quote(f.column)}" for f in plain] + (["f.value"] if spread else [])
    selected += [f"%s::{_cast_type(f)}" for f in [*same, *rest]]
    targets = [quote(f.column) for f in [*plain, *spread, *same, *rest]]
    fan = (
        f" CROSS JOIN LATERAL jsonb_array_elements_text(v.{quote(spread[0].column)}) AS f(value)"
        if spread
        else ""
    )
    # Only identifiers from the model's own metadata go into the text; values are parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(targets)}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM jsonb_to_recordset(%s::jsonb) AS v({columns}){fan}"
        + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
    )
    params = [f.get_db_prep_save(rows[0][f.attname], connection) for f in same]
    params += [f.get_db_prep_save(v, connection) for f, v in zip(rest, defaults, strict=True)]
    _execute(sql, [*params, document])


def rows_update(
    *,
    objs: Sequence[models.Model],
    fields: Sequence[str],
    where: dict[str, Any] | None = None,
) -> int:
    """Write `fields` of every object in `objs` (one model) with one statement; rows that do
    not also match `where` (column lookups, e.g. a lease token) are left alone. Returns how
    many rows were written (none when no field is named)."""
    if not objs or not fields:
        return 0
    model = type(objs[0])
    meta = model._meta
    concrete = [_column_field(meta, name) for name in fields]
    if connection.vendor != "postgresql":
        return _rows_update_portable(model=model, objs=objs, fields=concrete, where=where or {})
    quote = connection.ops.quote_name
    pk = meta.pk
    values = [[getattr(obj, f.attname) for f in concrete] for obj in objs]
    # A column with the same value in every row is set from one parameter (as in
    # `values_insert`); the document carries the rest.
    same = {
        index
        for index, field in enumerate(concrete)
        if _one_value(field, [row[index] for row in values])
    }
    varying = [i for i in range(len(concrete)) if i not in same]
    source, document = _recordset(
        [pk, *(concrete[i] for i in varying)],
        objs,
        ([obj.pk, *(row[i] for i in varying)] for obj, row in zip(objs, values, strict=True)),
    )
    assignments = [
        f"{quote(field.column)} = %s::{_cast_type(field)}"
        if index in same
        else f"{quote(field.column)} = v.{quote(field.column)}"
        for index, field in enumerate(concrete)
    ]
    params: list[Any] = [
        field.get_db_prep_save(values[0][index], connection)
        for index, field in enumerate(concrete)
        if index in same
    ]
    params.append(document)
    # The keys also as an array: the planner then finds the rows through the primary key
    # (it cannot see how many rows the document holds, and would read the whole table).
    conditions = [
        f"t.{quote(pk.column)} = v.{quote(pk.column)}",
        f"t.{quote(pk.column)} = ANY(%s)",
    ]
    params.append([obj.pk for obj in objs])
    for name, value in (where or {}).items():
        field = _column_field(meta, name)
        conditions.append(f"t.{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    # Only identifiers from the model's own metadata go into the text; values are parameters.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET "  # noqa: S608
        + ", ".join(assignments)
        + f" FROM {source} WHERE "
        + " AND ".join(conditions)
    )
    return _execute(sql, params)


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
