"""How one JIRA issue becomes a ticket: the directory of people and sites, and the plan of
what an import writes for it (checked before anything is written)."""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files import File

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
from .reader import attachment_file
from .records import JiraIssue, JiraUser

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
