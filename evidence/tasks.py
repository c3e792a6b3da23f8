from celery import shared_task

from .services import evidence_seal


@shared_task(name="evidence.tasks.evidence_seal", bind=True, ignore_result=True)
def evidence_seal_task(self) -> int:
    """Seal what is new; kicked after each scan and delivery pass and run by beat. A kick
    that finds a seal running returns at once (an outage's kicks would otherwise hold every
    worker waiting on one lock while the mail waits); the next kick seals what is left."""
    if self.request.is_eager:
        # Run inline (CELERY_TASK_ALWAYS_EAGER), a kick would put the hashing inside the scan
        # and delivery passes it follows; beat's periodic seal and `run_sla_scan` still seal.
        return 0
    return evidence_seal(wait=False)
