from celery import shared_task
from django.db import OperationalError

from .outbox import notification_deliver, notifications_deliver_due

# A pass that meets a database it cannot write for the moment (SQLite's one writer at a time,
# a PostgreSQL restart) tries again within seconds (1, 2, 4... at most 30 s apart) rather
# than leaving its rows for the next sweep.
DATABASE_BUSY = (OperationalError,)


@shared_task(
    name="tickets.tasks.notifications_deliver_pending",
    ignore_result=True,
    autoretry_for=DATABASE_BUSY,
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=False,
    max_retries=6,
)
def notifications_deliver_pending() -> int:
    """Deliver every outbox row that is due, until none is left. Safe to run many times at
    once: rows are claimed with a lease, and a pass with a full batch asks one more worker to
    join."""
    return notifications_deliver_due()


@shared_task(
    name="tickets.tasks.notification_send",
    ignore_result=True,
    autoretry_for=DATABASE_BUSY,
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=False,
    max_retries=6,
)
def notification_send(notification_id: int) -> bool:
    """Retry one row after its backoff; does nothing if it went out or failed meanwhile."""
    return notification_deliver(notification_id)
