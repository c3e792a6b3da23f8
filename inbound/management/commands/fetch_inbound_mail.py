import imaplib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from imap_tools.errors import ImapToolsError

from inbound.mailbox import inbound_mailbox_fetch
from inbound.models import InboundMessage
from tickets.outbox import notifications_deliver_due

Outcome = InboundMessage.Outcome


class Command(BaseCommand):
    # Run by cron or by hand, often: the system checks are for deploys and `manage.py check`.
    requires_system_checks: list[str] = []
    help = (
        "One pass over the support mailbox (INBOUND_IMAP_URL), as the periodic task does; "
        "then delivers the answers and notifications it caused. Prints what it did."
    )

    def handle(self, *args, **options) -> None:
        if not settings.INBOUND_IMAP_URL:
            raise CommandError("INBOUND_IMAP_URL is not set: there is no mailbox to read.")
        try:
            counts = inbound_mailbox_fetch()
        except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
            raise CommandError(f"Could not read the mailbox: {exc}") from exc
        sent = notifications_deliver_due()
        matched = counts[Outcome.COMMENTED] + counts[Outcome.FILED]
        self.stdout.write(
            f"received={counts['received']} matched={matched} "
            f"(commented={counts[Outcome.COMMENTED]} filed={counts[Outcome.FILED]}) "
            f"refused={counts[Outcome.REFUSED]} ignored={counts[Outcome.IGNORED]} "
            f"unmatched={counts[Outcome.UNMATCHED]} already_seen={counts['duplicate']} "
            f"failed={counts['failed']} "
            f"emails_sent={sent}"
        )
