"""Writing imported JIRA issues: in batches, directly (no receipt, no email, no webhook for
events that happened long ago), with the same checks as the portal's uploads for attachments,
the changelog as history entries, and the SLA and escalation columns set by those apps through
`signals.tickets_importing`. Keyed by `Ticket.jira_key`: an issue that did not change since the
last import is skipped; one that did is updated in place and gains what it lacked."""

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Cast, Concat

from .. import signals
from ..actors import Actor
from ..errors import DomainError
from ..models import (
    FILING_ROLES,
    Attachment,
    ClientSite,
    Comment,
    Role,
    SiteMembership,
    Status,
    Ticket,
    TicketEvent,
)
from ..services import _validate_upload
from .mapping import Mapping, MappingError
from .reader import JiraIssue, JiraUser, attachment_file

User = get_user_model()
TEXT_LIMIT = 50_000


@dataclass
class TicketImport:
    """What the apps above need to set an imported ticket's clocks."""

    ticket: Ticket
    first_staff_reply_at: datetime | None
    last_staff_reply_at: datetime | None
    created: bool


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    comments: int = 0
    attachments: int = 0
    history: int = 0
    # (issue key, message): issues left out, nothing of them written
    problems: list[tuple[str, str]] = field(default_factory=list)
    # (issue key, file name, reason): attachments refused by the upload checks
    refused: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, other: "ImportReport") -> None:
        for name in ("created", "updated", "unchanged", "comments", "attachments", "history"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems
        self.refused += other.refused


class IssueProblem(Exception):
    pass


@dataclass
class JiraDirectory:
    """The people and sites an import maps JIRA's onto, loaded once per run."""

    importer: Actor
    sites: dict[str, ClientSite]
    users: dict[str, tuple[int, bool]]  # email -> (user id, is staff)
    members: dict[int, set[int]]  # site id -> ids of its pm and it members
    first_pm: dict[int, int]  # site id -> user id

    @classmethod
    def load(cls, mapping: Mapping) -> "JiraDirectory":
        """MappingError when the importer is not staff or a mapped site does not exist."""
        importer = User.objects.filter(
            email__iexact=mapping.importer, is_staff=True, is_active=True
        ).first()
        if importer is None:
            raise MappingError(
                f"[users] importer: no active staff account has the email {mapping.importer}."
            )
        sites = {s.slug: s for s in ClientSite.objects.filter(slug__in=mapping.sites.values())}
        unknown = sorted(set(mapping.sites.values()) - set(sites))
        if unknown:
            raise MappingError(f"[site.values]: no site has the slug {', '.join(unknown)}.")
        users: dict[str, tuple[int, bool]] = {}
        for pk, email, staff in (
            User.objects.filter(is_active=True)
            .exclude(email="")
            .order_by("-is_staff", "pk")
            .values_list("pk", "email", "is_staff")
        ):
            users.setdefault(email.lower(), (pk, staff))
        members: dict[int, set[int]] = {}
        first_pm: dict[int, int] = {}
        for site_id, user_id, role in (
            SiteMembership.objects.filter(
                site__in=sites.values(), user__is_active=True, role__in=FILING_ROLES
            )
            .order_by("created_at", "pk")
            .values_list("site_id", "user_id", "role")
        ):
            members.setdefault(site_id, set()).add(user_id)
            if role == Role.PM:
                first_pm.setdefault(site_id, user_id)
        return cls(importer=importer, sites=sites, users=users, members=members, first_pm=first_pm)

    def staff(self, email: str) -> int | None:
        found = self.users.get(email)
        return found[0] if found and found[1] else None

    def member(self, site_id: int, email: str) -> int | None:
        found = self.users.get(email)
        return found[0] if found and found[0] in self.members.get(site_id, ()) else None


@contextmanager
def _keeping_created_at() -> Iterator[None]:
    """Write JIRA's own times into `created_at` columns (auto_now_add would stamp now).
    The import runs in its own process (a management command), one batch at a time."""
    fields = [m._meta.get_field("created_at") for m in (Ticket, Comment, Attachment, TicketEvent)]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


def _text(value: str, *, key: str, what: str) -> str:
    value = value.replace("\x00", "").strip()
    if len(value) > TEXT_LIMIT:
        raise IssueProblem(
            f"{what} has {len(value)} characters; the portal keeps at most {TEXT_LIMIT}."
        )
    return value


def issue_digest(issue: JiraIssue, mapping: Mapping) -> str:
    return hashlib.sha256(f"{mapping.fingerprint}{issue!r}".encode()).hexdigest()


@dataclass
class _Plan:
    issue: JiraIssue
    digest: str
    values: dict[str, Any]
    comments: list[Comment]
    attachments: list[tuple[Attachment, Path]]
    events: list[TicketEvent]
    created_message: str
    first_reply: datetime | None = None
    last_reply: datetime | None = None
    # (file name, reason) of attachments the upload checks refused
    refused: list[tuple[str, str]] = field(default_factory=list)


def _plan(issue: JiraIssue, *, mapping: Mapping, directory: JiraDirectory, folder: Path) -> _Plan:
    """Everything to write for one issue, checked; IssueProblem when it cannot be imported."""
    slug = mapping.site_of(issue)
    if slug is None:
        seen = issue.site_values.get(mapping.site_from) or []
        raise IssueProblem(
            f"no site: its {mapping.site_from} is "
            + (", ".join(repr(v) for v in seen) if seen else "empty")
            + "; map it under [site.values]."
        )
    site = directory.sites[slug]
    try:
        kind, impact, status = (
            mapping.kind_of(issue),
            mapping.impact_of(issue),
            mapping.status_of(issue),
        )
    except KeyError as exc:
        raise IssueProblem(f"{exc.args[0]!r} is not in the mapping.") from None
    summary = _text(issue.summary, key=issue.key, what="The summary")
    if not summary:
        raise IssueProblem("it has no summary.")
    description = _text(issue.description, key=issue.key, what="The description")
    if len(summary) > 200:
        description = f"{summary}\n\n{description}".strip()
        summary = summary[:199] + "…"
    description = description or "(No description in JIRA.)"
    if len(description) > TEXT_LIMIT:
        raise IssueProblem(f"The description is longer than {TEXT_LIMIT} characters.")

    def who(person: JiraUser | None) -> tuple[int | None, bool]:
        email = mapping.email_of(person)
        staff = directory.staff(email) if email else None
        if staff:
            return staff, True
        member = directory.member(site.pk, email) if email else None
        return member, False

    reporter_id, _ = who(issue.reporter)
    reporter_note = ""
    if reporter_id is None or directory.staff(mapping.email_of(issue.reporter)):
        reporter_id = directory.first_pm.get(site.pk)
        if reporter_id is None:
            raise IssueProblem(f"the reporter is not a member of {site.slug}, which has no pm.")
        email = mapping.email_of(issue.reporter)
        reporter_note = f" Reported in JIRA by {issue.reporter.name or '?'}" + (
            f" <{email}>." if email else "."
        )
    assignee_id = directory.staff(mapping.email_of(issue.assignee)) if issue.assignee else None
    resolved_at = closed_at = None
    if status in (Status.RESOLVED, Status.CLOSED):
        resolved_at = issue.resolved or issue.created
        closed_at = resolved_at if status == Status.CLOSED else None
    values = {
        "site": site,
        "reporter_id": reporter_id,
        "assignee_id": assignee_id,
        "kind": kind,
        "impact": impact,
        "status": status,
        "title": summary,
        "description": description,
        "created_at": issue.created,
        "resolved_at": resolved_at,
        "closed_at": closed_at,
    }
    plan = _Plan(
        issue=issue,
        digest=issue_digest(issue, mapping),
        values=values,
        comments=[],
        attachments=[],
        events=[],
        created_message=(f"Imported from JIRA {issue.key}.{reporter_note}")[:500],
    )
    for c in issue.comments:
        body = _text(c.body, key=issue.key, what=f"Comment {c.id}") or "(Empty comment in JIRA.)"
        public = c.public or (mapping.csv_public_comments and c.id.startswith("csv-"))
        author_id, staff = who(c.author)
        if author_id is None or (not public and not staff):
            # Internal comments are staff's; a public one by someone without an account here
            # is the client's side (it must not count as Rx.Health's response).
            if public:
                author_id, staff = reporter_id, False
            else:
                author_id, staff = directory.importer.pk, True
            body = f"(Written in JIRA by {c.author.name or 'someone unknown'}.)\n\n{body}"
            if len(body) > TEXT_LIMIT:
                raise IssueProblem(f"Comment {c.id} is longer than {TEXT_LIMIT} characters.")
        plan.comments.append(
            Comment(
                author_id=author_id,
                body=body,
                public=public,
                by_staff=staff,
                created_at=c.created,
                jira_id=c.id[:40],
            )
        )
        if public and staff:
            plan.first_reply = min(filter(None, [plan.first_reply, c.created]))
            plan.last_reply = max(filter(None, [plan.last_reply, c.created]))
    for a in issue.attachments:
        path = attachment_file(folder, a)
        if path is None:
            raise IssueProblem(
                f"attachment {a.filename!r} (id {a.id}) is not in {folder.name}/{a.id}/ "
                f"nor {folder.name}/."
            )
        with path.open("rb") as handle:
            upload = File(handle, name=Path(a.filename).name)
            try:
                content_type = _validate_upload(upload)
            except DomainError as exc:
                plan.refused.append((a.filename, exc.message))
                continue
            size = upload.size
        uploader_id, _ = who(a.author)
        plan.attachments.append(
            (
                Attachment(
                    uploaded_by_id=uploader_id or directory.importer.pk,
                    original_name=Path(a.filename).name[:255],
                    content_type=content_type,
                    size=size,
                    created_at=a.created or issue.created,
                    jira_id=a.id[:40],
                ),
                path,
            )
        )
    for change in issue.changes:
        actor_id, _ = who(change.author)
        plan.events.append(
            TicketEvent(
                actor_id=actor_id,
                action=TicketEvent.Action.JIRA_HISTORY,
                changes={
                    f or "?": [before or None, after or None] for f, before, after in change.items
                },
                message=f"In JIRA, by {change.author.name or 'someone unknown'}."[:500],
                created_at=change.created,
                jira_id=change.id[:40],
            )
        )
    return plan


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
