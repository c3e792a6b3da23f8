"""Read PostgreSQL timestamps with psycopg's C parser.

Django 5.2 registers its own `timestamptz` loader on every connection, to give each value the
connection's tzinfo. It derives from psycopg's pure-Python loader, so psycopg never swaps in
its C version: a value takes about six times as long to read, which was most of the time a
scan pass spent loading thousands of ticket rows (Django ticket #36960, psycopg #1273).

`fast_timestamps` (connected to `connection_created`) registers a loader that keeps Django's
contract (a `timezone` attribute, which Django's cursors compare; every value carries that
tzinfo) and parses with the C loader psycopg itself would use. It is installed only where it
changes nothing else: PostgreSQL through psycopg 3's C build, with time zones on.
"""

from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper


def _optimised_loader() -> Any:
    """psycopg's C `timestamptz` loader, found through its public adapters API (a map asked
    for the stock loader hands back the C one where psycopg has it), or None."""
    try:
        import psycopg
        from psycopg.adapt import AdaptersMap
        from psycopg.pq import Format
        from psycopg.types.datetime import TimestamptzLoader
    except ImportError:
        return None
    adapters = AdaptersMap(psycopg.adapters)
    adapters.register_loader("timestamptz", TimestamptzLoader)
    loader = adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, Format.TEXT)
    return None if loader is TimestamptzLoader else loader


_OPTIMISED = _optimised_loader()


@lru_cache(maxsize=8)
def _loader_for(tz: tzinfo | None, optimised: Any) -> type:
    """A loader class for `tz`, in the shape Django's `register_tzloader` gives."""
    from django.db.backends.postgresql.psycopg_any import (  # type: ignore[import-untyped]
        BaseTzLoader,
    )

    class FastTzLoader(BaseTzLoader):
        timezone = tz

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parse = optimised(oid, context).load

        def load(self, data: Any) -> datetime:
            value = self._parse(data)
            # As Django's loader does (the session's zone is the connection's, set by Django).
            return value if value.tzinfo is tz else value.replace(tzinfo=tz)

    return FastTzLoader


def fast_timestamps(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """On a new PostgreSQL connection, read timestamps with psycopg's C parser."""
    if connection.vendor != "postgresql" or _OPTIMISED is None or not settings.USE_TZ:
        return
    adapters = getattr(connection.connection, "adapters", None)  # psycopg 3 only
    if adapters is None:
        return
    adapters.register_loader("timestamptz", _loader_for(connection.timezone, _OPTIMISED))
