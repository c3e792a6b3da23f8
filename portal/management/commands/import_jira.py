import sys
from itertools import islice
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tickets.jira.mapping import MappingError, Unmapped, mapping_load
from tickets.jira.plan import ImportReport, JiraDirectory
from tickets.jira.reader import attachments_folder, issues_read
from tickets.jira.records import ExportError
from tickets.jira.services import jira_issues_import


class Command(BaseCommand):
    help = (
        "Import a JIRA export (REST search JSON pages or the CSV export, with an attachments "
        "folder beside it). Idempotent: a second run updates what changed and creates nothing "
        "twice; an interrupted run resumes. Sends no email and no webhook."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="A REST search page (.json), a folder of them, or a CSV")
        parser.add_argument("--mapping", required=True, help="The mapping file (TOML)")
        parser.add_argument("--dry-run", action="store_true", help="Check and count; write nothing")
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Issues per transaction (default 500)"
        )

    def handle(self, *args, path, mapping, dry_run, batch_size, **options):
        path = Path(path)
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            mapping = mapping_load(Path(mapping))
            directory = JiraDirectory.load(mapping)
        except MappingError as exc:
            raise CommandError(f"Mapping: {exc}") from None

        def read():
            return issues_read(
                path, site_field=mapping.site_field, csv_timezone=mapping.csv_timezone
            )

        # First pass: the whole export is read and checked before anything is written.
        unmapped, keys, comments = Unmapped(), set(), 0
        with _progress() as progress:
            task = progress.add_task("Checking", total=None)
            try:
                for issue in read():
                    if issue.key in keys:
                        raise CommandError(
                            f"{issue.key} appears twice in the export. Nothing was imported."
                        )
                    keys.add(issue.key)
                    comments += len(issue.comments)
                    unmapped.check(mapping, issue)
                    progress.advance(task)
            except ExportError as exc:
                raise CommandError(f"{exc} Nothing was imported.") from None
        total = len(keys)
        del keys
        self.stdout.write(f"{path.name}: {total} issues, {comments} comments.")
        if unmapped:
            self.stdout.write("These values are not in the mapping; map them and run again:")
            for line in unmapped.lines():
                self.stdout.write(f"  {line}")
            raise CommandError(f"{len(unmapped.lines())} unmapped values. Nothing was imported.")

        report, done = ImportReport(), 0
        now = timezone.now()
        folder = attachments_folder(path)
        issues = read()
        try:
            with _progress() as progress:
                task = progress.add_task("Dry run" if dry_run else "Importing", total=total)
                while batch := list(islice(issues, batch_size)):
                    report.add(
                        jira_issues_import(
                            issues=batch,
                            mapping=mapping,
                            directory=directory,
                            attachments_dir=folder,
                            now=now,
                            dry_run=dry_run,
                        )
                    )
                    done += len(batch)
                    progress.advance(task, len(batch))
        except KeyboardInterrupt:
            self._report(report, dry_run=dry_run)
            raise CommandError(
                f"Stopped after {done} of {total} issues; the batch in progress was rolled "
                "back. Run the same command again to resume.",
                returncode=130,
            ) from None
        except ExportError as exc:
            self._report(report, dry_run=dry_run)
            raise CommandError(f"{exc} The issues before it were imported.") from None
        self._report(report, dry_run=dry_run)
        if report.problems:
            raise CommandError(
                f"{len(report.problems)} issue(s) were not imported (listed above); fix them "
                "and run again: what was imported stays, nothing is created twice."
            )

    def _report(self, report: ImportReport, *, dry_run: bool) -> None:
        would = "would be " if dry_run else ""
        self.stdout.write(
            f"Tickets {would}created: {report.created}, {would}updated: {report.updated}, "
            f"unchanged: {report.unchanged}."
        )
        self.stdout.write(
            f"Comments {would}written: {report.comments}; attachments: {report.attachments}; "
            f"history entries: {report.history}."
        )
        for key, name, reason in report.refused:
            # The upload checks' reason names the file.
            line = reason if name in reason else f"{name}: {reason}"
            self.stdout.write(f"Refused attachment {key}: {line}")
        for key, message in report.problems:
            self.stdout.write(f"Not imported {key}: {message}")
        if not dry_run:
            self.stdout.write(
                "No email and no webhook was sent: imported tickets are past events. Open "
                "tickets' SLA clocks count from their JIRA filing time; escalation of missed "
                "first responses starts from now."
            )


def _progress() -> Progress:
    """A bar on the terminal (stderr), nothing when the output is a file or a pipe."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
        disable=not sys.stderr.isatty(),
    )
