from django.core.management.base import BaseCommand

from evidence.services import evidence_seal
from sla.scan import sla_scan_run
from tickets.outbox import notifications_deliver


class Command(BaseCommand):
    # Run by cron or by hand, often: the system checks (they load every URL and view) are
    # for deploys and `manage.py check`, not for each pass.
    requires_system_checks: list[str] = []
    help = (
        "Run one pass of the periodic SLA scan now, deliver everything that is due, print "
        "counts (notifications sent, failed for good, and left for a retry), and seal the "
        "evidence chains."
    )

    def handle(self, *args, **options):
        counts = sla_scan_run()
        delivered = notifications_deliver()
        counts["notifications_sent"] = delivered.sent
        counts["notifications_failed"] = delivered.failed
        counts["notifications_left_for_retry"] = delivered.retrying
        counts["evidence_sealed"] = evidence_seal()
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
