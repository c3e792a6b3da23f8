from django.core.management.base import BaseCommand

from sla.scan import sla_scan_run
from tickets.outbox import notifications_deliver_due


class Command(BaseCommand):
    help = "Run one pass of the periodic SLA scan now, deliver what is pending, print counts."

    def handle(self, *args, **options):
        counts = sla_scan_run()
        counts["notifications_delivered"] = notifications_deliver_due()
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
