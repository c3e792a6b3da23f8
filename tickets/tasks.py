from celery import shared_task

from .outbox import notification_deliver, notifications_deliver_due


@shared_task(name="tickets.tasks.notifications_deliver_pending", ignore_result=True)
def notifications_deliver_pending() -> int:
    """Deliver every outbox row that is due, until none is left. Safe to run many times at
    once: rows are claimed with a lease, and a pass with a full batch asks one more worker to
    join."""
    return notifications_deliver_due()


@shared_task(name="tickets.tasks.notification_send", ignore_result=True)
def notification_send(notification_id: int) -> bool:
    """Retry one row after its backoff; does nothing if it went out or failed meanwhile."""
    return notification_deliver(notification_id)
