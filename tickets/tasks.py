import logging
import time
from collections.abc import Callable
from typing import TypeVar

from celery import shared_task
from django.db import OperationalError, connection

from .outbox import notification_deliver, notifications_deliver_due

logger = logging.getLogger(__name__)
T = TypeVar("T")

# A pass that meets a database it cannot use for the moment (SQLite's one writer at a time, a
# PostgreSQL restart) tries again after 0.5, 1, 2 and 4 s in the same task, rather than
# leaving its rows for the next sweep a minute later.
BUSY_WAITS = (0.5, 1.0, 2.0, 4.0)


def _through_busy_database(run: Callable[[], T]) -> T:
    for wait in BUSY_WAITS:
        try:
            return run()
        except OperationalError as exc:
            logger.warning("Delivery met a busy database (%s); trying again in %s s", exc, wait)
            connection.close_if_unusable_or_obsolete()
            time.sleep(wait)
    return run()


@shared_task(name="tickets.tasks.notifications_deliver_pending", ignore_result=True)
def notifications_deliver_pending() -> int:
    """Deliver every outbox row that is due, until none is left. Safe to run many times at
    once: rows are claimed with a lease, and a pass with a full batch asks one more worker to
    join."""
    return _through_busy_database(notifications_deliver_due)


@shared_task(name="tickets.tasks.notification_send", ignore_result=True)
def notification_send(notification_id: int) -> bool:
    """Retry one row after its backoff; does nothing if it went out or failed meanwhile."""
    return _through_busy_database(lambda: notification_deliver(notification_id))
