from django.core.management.base import BaseCommand

from sla.scan import sla_scan_run
from tickets.outbox import notifications_deliver


class Command(BaseCommand):
    help = (
        "Run one pass of the periodic SLA scan now, deliver everything that is due, print "
        "counts (notifications sent, failed for good, and left for a retry)."
    )

    def handle(self, *args, **options):
        counts = sla_scan_run()
        delivered = notifications_deliver()
        counts["notifications_sent"] = delivered.sent
        counts["notifications_failed"] = delivered.failed
        counts["notifications_left_for_retry"] = delivered.retrying
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
