from celery import shared_task

from .mailbox import inbound_mailbox_fetch


@shared_task(name="inbound.tasks.inbound_mail_fetch", ignore_result=True)
def inbound_mail_fetch() -> int:
    """One pass over the support mailbox (nothing when INBOUND_IMAP_URL is unset)."""
    return inbound_mailbox_fetch()["received"]
