from celery import shared_task

from .scan import sla_scan_run


@shared_task(name="sla.tasks.sla_scan", ignore_result=True)
def sla_scan() -> dict[str, int]:
    """The periodic scan that beat runs (see portal/schedule.py)."""
    return sla_scan_run()
