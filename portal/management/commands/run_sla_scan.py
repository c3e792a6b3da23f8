from django.core.management.base import BaseCommand

from sla.scan import sla_scan_run


class Command(BaseCommand):
    help = "Run one pass of the periodic SLA scan now and print what it did."

    def handle(self, *args, **options):
        result = sla_scan_run()
        for name, count in result.as_dict().items():
            self.stdout.write(f"{name}: {count}")
