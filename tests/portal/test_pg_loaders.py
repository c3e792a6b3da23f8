"""Timestamps read from PostgreSQL: parsed by psycopg's C loader, with Django's tzinfo."""

import datetime

import pytest
from django.db import connection
from psycopg.pq import Format

from tests.tickets.factories import TicketFactory
from tickets.models import Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MOMENTS = [
    datetime.datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=datetime.UTC),  # US DST change
    datetime.datetime(2026, 11, 1, 5, 30, 0, 1, tzinfo=datetime.UTC),
    datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC),
    datetime.datetime(2026, 7, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-4))),
]


def test_timestamps_read_back_as_written_in_utc_with_djangos_tzinfo():
    tickets = [TicketFactory(response_due_at=moment) for moment in MOMENTS]
    read = dict(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("pk", "response_due_at")
    )
    for ticket, moment in zip(tickets, MOMENTS, strict=True):
        value = read[ticket.pk]
        assert value is not None and value == moment
        assert value.tzinfo is connection.timezone  # as Django's own loader gives
        assert value.utcoffset() == datetime.timedelta(0)


def test_the_connection_parses_timestamps_with_psycopgs_c_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(
        connection.connection.adapters.types["timestamptz"].oid, Format.TEXT
    )
    assert loader.timezone is connection.timezone  # Django's cursors compare it
    parse = loader(connection.connection.adapters.types["timestamptz"].oid, connection.connection)
    assert type(parse._parse.__self__).__module__.startswith("psycopg_binary")
