from celery import shared_task

from tickets.tasks import notifications_deliver_pending

from .scan import sla_scan_run
from .services import sla_policy_retarget


@shared_task(name="sla.tasks.sla_scan", ignore_result=True)
def sla_scan() -> dict[str, int]:
    """The periodic scan that beat runs (see portal/schedule.py). Afterwards it sweeps the
    outbox, so rows whose delivery message was lost (or whose retry is due) go out."""
    counts = sla_scan_run()
    notifications_deliver_pending.delay()
    return counts


@shared_task(name="sla.tasks.sla_policy_retarget", ignore_result=True)
def sla_policy_retarget_task(policy_id: int) -> int:
    """Re-apply an edited policy to the open tickets it governs."""
    return sla_policy_retarget(policy_id=policy_id)
