"""Writing imported JIRA issues: in batches, directly (no receipt, no email, no webhook for
events that happened long ago), with the same checks as the portal's uploads for attachments,
the changelog as history entries, and the SLA and escalation columns set by those apps through
`signals.tickets_importing`. Keyed by `Ticket.jira_key`: an issue that did not change since the
last import is skipped; one that did is updated in place and gains what it lacked."""

import uuid
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Cast, Concat

from .. import signals
from ..models import (
    Attachment,
    Comment,
    Ticket,
    TicketEvent,
)
from .mapping import Mapping
from .plan import (
    ImportReport,
    IssueProblem,
    JiraDirectory,
    TicketImport,
    _keeping_created_at,
    _Plan,
    _plan,
    issue_digest,
)
from .records import JiraIssue

# What an update from JIRA keeps in the history entry, before and after.
DIFFED_FIELDS = ("kind", "impact", "status", "title", "assignee_id")
TICKET_FIELDS = [
    f.name
    for f in Ticket._meta.concrete_fields
    if f.name not in ("id", "reference", "jira_key", "created_at", "updated_at")
] + ["created_at", "updated_at"]


def jira_issues_import(
    *,
    issues: list[JiraIssue],
    mapping: Mapping,
    directory: JiraDirectory,
    attachments_dir: Path,
    now: datetime,
    dry_run: bool = False,
) -> ImportReport:
    """Import one batch of issues in one transaction: new ones are created, changed ones
    updated, unchanged ones skipped; an issue with a problem is left out whole and reported."""
    report = ImportReport()
    existing = dict(
        Ticket.objects.filter(jira_key__in=[i.key for i in issues]).values_list(
            "jira_key", "jira_digest"
        )
    )
    plans: list[_Plan] = []
    for issue in issues:
        if existing.get(issue.key) == issue_digest(issue, mapping):
            report.unchanged += 1
            continue
        try:
            plan = _plan(issue, mapping=mapping, directory=directory, folder=attachments_dir)
        except IssueProblem as exc:
            report.problems.append((issue.key, str(exc)))
            continue
        plans.append(plan)
        report.refused += [(issue.key, name, reason) for name, reason in plan.refused]
    for plan in plans:
        if plan.issue.key in existing:
            report.updated += 1
        else:
            report.created += 1
    if dry_run or not plans:
        for plan in plans:
            report.comments += len(plan.comments)
            report.attachments += len(plan.attachments)
            report.history += len(plan.events)
        return report
    with transaction.atomic(), _keeping_created_at():
        _write(plans=plans, existing=existing, directory=directory, now=now, report=report)
    return report


def _write(
    *,
    plans: list[_Plan],
    existing: dict[str | None, str],
    directory: JiraDirectory,
    now: datetime,
    report: ImportReport,
) -> None:
    old = {
        t.jira_key: t
        for t in Ticket.objects.select_for_update(of=("self",)).filter(
            jira_key__in=[p.issue.key for p in plans if p.issue.key in existing]
        )
    }
    imports: list[TicketImport] = []
    changed: dict[str, dict[str, list]] = {}
    for plan in plans:
        ticket = old.get(plan.issue.key)
        created = ticket is None
        if ticket is None:
            ticket = Ticket(
                reference=f"j{uuid.uuid4().hex[:19]}", jira_key=plan.issue.key, updated_at=now
            )
        else:
            changed[plan.issue.key] = {
                name: [getattr(ticket, name), plan.values[name]]
                for name in DIFFED_FIELDS
                if getattr(ticket, name) != plan.values[name]
            }
        for name, value in plan.values.items():
            setattr(ticket, name, value)
        ticket.jira_digest = plan.digest
        ticket.updated_at = now
        imports.append(
            TicketImport(
                ticket=ticket,
                first_staff_reply_at=plan.first_reply,
                last_staff_reply_at=plan.last_reply,
                created=created,
            )
        )
    # The SLA sets the clocks and escalation its columns, on these objects, before the write.
    signals.tickets_importing.send(sender=Ticket, imports=imports, now=now)
    new = [i.ticket for i in imports if i.created]
    if new:
        Ticket.objects.bulk_create(new)
        Ticket.objects.filter(pk__in=[t.pk for t in new]).update(
            reference=Concat(
                Value(settings.TICKET_REFERENCE_PREFIX),
                Cast(F("id") + 1000, output_field=models.CharField()),
            )
        )
    updated = [i.ticket for i in imports if not i.created]
    if updated:
        Ticket.objects.bulk_update(updated, TICKET_FIELDS)
    tickets = {i.ticket.jira_key: i.ticket for i in imports}

    known_comments = {
        (ticket_id, jira_id): (pk, body, public)
        for pk, ticket_id, jira_id, body, public in Comment.objects.filter(ticket__in=updated)
        .exclude(jira_id="")
        .values_list("pk", "ticket_id", "jira_id", "body", "public")
    }
    known_attachments = set(
        Attachment.objects.filter(ticket__in=updated)
        .exclude(jira_id="")
        .values_list("ticket_id", "jira_id")
    )
    known_events = set(
        TicketEvent.objects.filter(ticket__in=updated)
        .exclude(jira_id="")
        .values_list("ticket_id", "jira_id")
    )
    comments, changed_comments, attachments, events = [], [], [], []
    for plan in plans:
        ticket = tickets[plan.issue.key]
        if plan.issue.key not in old:
            events.append(
                TicketEvent(
                    ticket=ticket,
                    actor=directory.importer,
                    action=TicketEvent.Action.IMPORTED,
                    changes={
                        "jira_key": [None, plan.issue.key],
                        "kind": [None, ticket.kind],
                        "impact": [None, ticket.impact or None],
                        "status": [None, ticket.status],
                    },
                    message=plan.created_message,
                    created_at=ticket.created_at,
                )
            )
        else:
            events.append(
                TicketEvent(
                    ticket=ticket,
                    actor=directory.importer,
                    action=TicketEvent.Action.IMPORTED,
                    changes=changed[plan.issue.key],
                    message=f"Updated from JIRA {plan.issue.key}.",
                    created_at=now,
                )
            )
        for comment in plan.comments:
            known = known_comments.get((ticket.pk, comment.jira_id))
            if known is None:
                comment.ticket = ticket
                comments.append(comment)
            elif (known[1], known[2]) != (comment.body, comment.public):
                comment.pk, comment.ticket = known[0], ticket
                changed_comments.append(comment)
        for attachment, path in plan.attachments:
            if (ticket.pk, attachment.jira_id) in known_attachments:
                continue
            attachment.ticket = ticket
            with path.open("rb") as handle:
                attachment.file.save(attachment.original_name, File(handle), save=False)
            attachments.append(attachment)
        for event in plan.events:
            if (ticket.pk, event.jira_id) not in known_events:
                event.ticket = ticket
                events.append(event)
    Comment.objects.bulk_create(comments, batch_size=1000)
    Comment.objects.bulk_update(
        changed_comments, ["body", "public", "author", "by_staff"], batch_size=500
    )
    Attachment.objects.bulk_create(attachments, batch_size=500)
    TicketEvent.objects.bulk_create(events, batch_size=1000)
    report.comments += len(comments) + len(changed_comments)
    report.attachments += len(attachments)
    report.history += sum(1 for e in events if e.jira_id)
