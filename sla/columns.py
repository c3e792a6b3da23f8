"""Batch writes of a ticket's clock columns, for the scan and for broadcast replies."""

from django.db import connection

from tickets.models import Ticket


def ticket_columns_write(*, tickets: list[Ticket], fields: list[str]) -> None:
    """Write these clock columns of every ticket in a batch with one statement. On
    PostgreSQL an UPDATE ... FROM unnest(arrays), one array parameter per column (Django's
    bulk_update builds a CASE per row and column, which costs far more Python than SQL)."""
    if connection.vendor != "postgresql":
        Ticket.objects.bulk_update(tickets, fields)
        return
    quote = connection.ops.quote_name
    columns_of = [Ticket._meta.get_field(name) for name in fields]
    pk = Ticket._meta.pk
    columns = [pk.column] + [field.column for field in columns_of]
    arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in [pk, *columns_of])
    # Only identifiers from the model's own metadata go into the text; values are parameters.
    sql = (
        f"UPDATE {quote(Ticket._meta.db_table)} AS t SET "  # noqa: S608
        + ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns[1:])
        + f" FROM unnest({arrays}) AS v({', '.join(quote(c) for c in columns)})"
        + f" WHERE t.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    params = [[ticket.pk for ticket in tickets]] + [
        [field.get_db_prep_save(getattr(ticket, field.attname), connection) for ticket in tickets]
        for field in columns_of
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
