from celery import shared_task

from .outbox import notifications_deliver_due


@shared_task(name="tickets.tasks.notifications_deliver_pending", ignore_result=True)
def notifications_deliver_pending() -> int:
    """Deliver every outbox row that is due. Safe to run many times at once: rows are
    claimed with row locks."""
    return notifications_deliver_due()
