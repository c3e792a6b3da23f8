from django.conf import settings
from django.core.management.base import BaseCommand

from evidence.services import evidence_purge, purgeable_chains


class Command(BaseCommand):
    help = (
        "Remove the evidence of tickets done for longer than EVIDENCE_RETENTION_DAYS, whole "
        "chains at a time. Without --confirm it only says what it would remove."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--confirm", action="store_true", help="Really remove (export first: export_evidence)."
        )

    def handle(self, *args, confirm: bool = False, **options):
        days = settings.EVIDENCE_RETENTION_DAYS
        if not confirm:
            count = purgeable_chains().count()
            self.stdout.write(
                f"{count} chain(s) of tickets done more than {days} days ago would be removed. "
                "Nothing was removed: export them first (export_evidence), then pass --confirm."
            )
            return
        counts = evidence_purge()
        self.stdout.write(
            f"Removed {counts['entries']} entries of {counts['chains']} chain(s) and "
            f"{counts['views']} view records (retention {days} days)."
        )
