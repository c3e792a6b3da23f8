import json
import re

from django.core.management.base import BaseCommand, CommandError

from evidence.pack import evidence_pack_get, pack_json
from evidence.pdf import pack_pdf
from tickets.models import ClientSite, Ticket

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class Command(BaseCommand):
    help = (
        "Write one site's evidence pack for one month: the JSON with its hash chains (to keep "
        "before a purge) and, with --pdf, the PDF for people."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", metavar="SLUG", required=True)
        parser.add_argument("--month", metavar="YYYY-MM", required=True)
        parser.add_argument("--output", metavar="FILE", help="JSON file (default: stdout).")
        parser.add_argument("--pdf", metavar="FILE", help="Also write the PDF here.")

    def handle(self, *args, site: str, month: str, output=None, pdf=None, **options):
        found = ClientSite.objects.filter(slug=site).first()
        if found is None:
            raise CommandError(f"No site has the slug {site!r}.")
        match = MONTH.match(month)
        if not match:
            raise CommandError(f"--month {month!r}: give a month as YYYY-MM, e.g. 2026-03.")
        pack = evidence_pack_get(
            tickets=Ticket.objects.all(), site=found, year=int(match[1]), month=int(match[2])
        )
        text = json.dumps(pack_json(pack), indent=2, ensure_ascii=False)
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
            self.stderr.write(f"Wrote {len(pack.chains)} chains to {output}")
        else:
            self.stdout.write(text)
        if pdf:
            with open(pdf, "wb") as handle:
                handle.write(pack_pdf(pack))
            self.stderr.write(f"Wrote the PDF to {pdf}")
