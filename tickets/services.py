"""Writes for the ticket lifecycle. Every face (admin, portal, API, tasks) calls these; each
owns its transaction, locks the ticket row it changes, writes history, and tells the apps
above through `tickets.signals`."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import filetype
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import signals
from .actors import Actor
from .errors import Conflict, DomainError, NotAllowed
from .models import (
    FILING_ROLES,
    Attachment,
    ClientSite,
    Comment,
    Impact,
    Kind,
    MembershipEvent,
    Notification,
    Role,
    SiteMembership,
    Status,
    Ticket,
    TicketEvent,
    UserPreference,
    validate_timezone,
)
from .outbox import notifications_requeue
from .selectors import is_staff, membership_role

User = get_user_model()

TEXT_EXTENSIONS = {".txt": "text/plain", ".log": "text/plain", ".csv": "text/csv"}

# Who may move a ticket from one status to another. Staff may make any of these moves;
# site contacts (pm, it) only mark resolved and reopen.
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.IN_PROGRESS, Status.WAITING_ON_CLIENT, Status.RESOLVED, Status.CLOSED},
    Status.IN_PROGRESS: {Status.WAITING_ON_CLIENT, Status.RESOLVED, Status.CLOSED},
    Status.WAITING_ON_CLIENT: {Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.IN_PROGRESS, Status.CLOSED},
    Status.CLOSED: {Status.IN_PROGRESS},
}
CLIENT_TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.RESOLVED},
    Status.IN_PROGRESS: {Status.RESOLVED},
    Status.WAITING_ON_CLIENT: {Status.RESOLVED},
    Status.RESOLVED: {Status.IN_PROGRESS},
}


def clean_text(value: Any, *, field: str, max_length: int, required: bool = True) -> str:
    """Text from outside, stripped; refused with a clear message when empty, too long or
    holding characters no database column can store."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError("Must be text.", field=field)
    value = value.strip()
    if "\x00" in value:
        raise DomainError("Must not contain NUL characters.", field=field)
    if required and not value:
        raise DomainError("This field is required.", field=field)
    if len(value) > max_length:
        raise DomainError(
            f"Must be at most {max_length} characters (it has {len(value)}).", field=field
        )
    return value


def _record(
    *,
    ticket: Ticket,
    actor: Actor | None,
    action: str,
    changes: dict | None = None,
    message: str = "",
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        changes=changes or {},
        message=message[:500],
    )


def ticket_history_record(
    *,
    ticket: Ticket,
    actor: Actor | None,
    action: str,
    changes: dict | None = None,
    message: str = "",
) -> TicketEvent:
    """Add an entry to a ticket's history (for the apps above: SLA and escalation events)."""
    return _record(ticket=ticket, actor=actor, action=action, changes=changes, message=message)


def _lock(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("site", "reporter", "assignee")
        .get(pk=ticket.pk)
    )


def _validate_kind_impact(kind: Any, impact: Any) -> tuple[str, str]:
    if kind not in Kind.values:
        raise DomainError(
            f"Choose one of: {', '.join(Kind.values)}.", field="kind", code="invalid_choice"
        )
    impact = impact or ""
    if kind == Kind.INCIDENT:
        if impact not in Impact.values:
            raise DomainError("An incident needs an impact: high, medium or low.", field="impact")
    elif impact:
        raise DomainError("Only incidents have an impact.", field="impact")
    return kind, impact


def _validate_upload(file: File) -> str:
    """Check size and real content type; returns the content type to store."""
    name = getattr(file, "name", "") or ""
    if "\x00" in name or len(name) > 255:
        raise DomainError("The file name is not valid.", field="file")
    size = file.size or 0
    if size == 0:
        raise DomainError(f"{name} is empty.", field="file")
    if size > settings.ATTACHMENT_MAX_BYTES:
        limit_mb = settings.ATTACHMENT_MAX_BYTES / (1024 * 1024)
        raise DomainError(
            f"{name} is larger than the limit of {limit_mb:.0f} MB.", field="file", code="too_large"
        )
    file.seek(0)
    head = file.read(8192)
    file.seek(0)
    guess = filetype.guess(head)
    if guess is not None:
        content_type = guess.mime
    else:
        extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        content_type = TEXT_EXTENSIONS.get(extension, "application/octet-stream")
        if content_type.startswith("text/"):
            try:
                head.decode("utf-8")
            except UnicodeDecodeError:
                # A cut multi-byte character at the 8 KiB edge is fine; anything else is not text.
                try:
                    head[:-3].decode("utf-8")
                except UnicodeDecodeError:
                    content_type = "application/octet-stream"
    if content_type not in settings.ATTACHMENT_ALLOWED_TYPES:
        # Plain words, never a MIME type: ".EXE files are not accepted".
        extension = name.rsplit(".", 1)[-1].upper() if "." in name else ""
        what = f".{extension} files are" if extension else "this kind of file is"
        raise DomainError(
            f"{name}: {what} not accepted. Attach PDF, images, text or log files, CSV, "
            "ZIP, Word or Excel documents.",
            field="file",
            code="type_not_allowed",
        )
    return content_type


def _require_member_can_write(*, user: Actor, site: ClientSite) -> None:
    if is_staff(user):
        return
    role = membership_role(user=user, site=site)
    if role is None:
        # Callers look tickets up through the tenancy selector first; this is a backstop.
        raise NotAllowed("You are not a member of this site.")
    if role not in FILING_ROLES:
        raise NotAllowed(
            "Only the site's project managers and IT staff may file or reply to tickets."
        )


@transaction.atomic
def ticket_create(
    *,
    actor: Actor,
    site: ClientSite,
    kind: str,
    title: str,
    description: str,
    impact: str = "",
    reporter: Actor | None = None,
    files: Iterable[UploadedFile] = (),
) -> Ticket:
    """File a ticket. Site contacts file for themselves (pm and it only); staff may file on
    behalf of a site's pm or it member by naming the reporter."""
    reporter = reporter or actor
    if not is_staff(actor) and reporter.pk != actor.pk:
        raise NotAllowed("You can only file tickets as yourself.", field="reporter")
    if not site.is_active:
        raise DomainError("This site is not active.", field="site")
    if is_staff(actor) and reporter.pk == actor.pk:
        pass  # staff filing for themselves, e.g. a problem they found
    else:
        role = membership_role(user=reporter, site=site)
        if role not in FILING_ROLES:
            raise NotAllowed(
                "Requests must come through the site's project manager or IT department.",
                field="reporter",
            )
    kind, impact = _validate_kind_impact(kind, impact)
    title = clean_text(title, field="title", max_length=200)
    description = clean_text(description, field="description", max_length=50_000)
    files = list(files)
    content_types = [_validate_upload(f) for f in files]

    ticket = Ticket(
        # A placeholder unique for this transaction; the human reference follows the id.
        reference=f"tmp-{timezone.now().timestamp():.6f}"[:20],
        site=site,
        reporter=reporter,
        kind=kind,
        impact=impact,
        title=title,
        description=description,
    )
    ticket.save()
    ticket.reference = f"{settings.TICKET_REFERENCE_PREFIX}{ticket.pk + 1000}"
    ticket.save(update_fields=["reference"])
    _record(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.CREATED,
        changes={"kind": [None, kind], "impact": [None, impact or None], "status": [None, "new"]},
        message=f"Filed for {reporter}" if reporter.pk != actor.pk else "",
    )
    for file, content_type in zip(files, content_types, strict=True):
        _attachment_save(ticket=ticket, uploaded_by=actor, file=file, content_type=content_type)
    signals.ticket_filed.send(sender=Ticket, ticket=ticket, actor=actor)
    return ticket


def _attachment_save(
    *,
    ticket: Ticket,
    uploaded_by: Actor,
    file: UploadedFile,
    content_type: str,
    comment: Comment | None = None,
) -> Attachment:
    attachment = Attachment(
        ticket=ticket,
        comment=comment,
        uploaded_by=uploaded_by,
        original_name=(file.name or "file").rsplit("/", 1)[-1][:255],
        content_type=content_type,
        size=file.size or 0,
    )
    attachment.file.save(attachment.original_name, file, save=False)
    attachment.save()
    _record(
        ticket=ticket,
        actor=uploaded_by,
        action=TicketEvent.Action.ATTACHED,
        changes={"attachment": [None, attachment.original_name]},
    )
    return attachment


@transaction.atomic
def attachment_add(
    *, ticket: Ticket, uploaded_by: Actor, file: UploadedFile, comment: Comment | None = None
) -> Attachment:
    """Attach a file to a ticket after checking its size and real content type."""
    ticket = _lock(ticket)
    _require_member_can_write(user=uploaded_by, site=ticket.site)
    if ticket.status == Status.CLOSED:
        raise Conflict("This ticket is closed.")
    content_type = _validate_upload(file)
    return _attachment_save(
        ticket=ticket,
        uploaded_by=uploaded_by,
        file=file,
        content_type=content_type,
        comment=comment,
    )


@transaction.atomic
def comment_post(
    *,
    ticket: Ticket,
    author: Actor,
    body: str,
    public: bool = True,
    estimated_resolution_at: datetime | None = None,
    files: Iterable[UploadedFile] = (),
) -> Comment:
    """Post a reply (or, for staff, an internal note). A site contact's reply to a ticket
    waiting on them, or to a resolved one, puts it back in progress."""
    ticket = _lock(ticket)
    staff = is_staff(author)
    _require_member_can_write(user=author, site=ticket.site)
    if ticket.status == Status.CLOSED:
        raise Conflict("This ticket is closed; file a new ticket instead.")
    if not staff and not public:
        raise NotAllowed("Only Rx.Health staff can write internal notes.", field="public")
    if not staff and estimated_resolution_at is not None:
        raise NotAllowed(
            "Only Rx.Health staff set estimated resolution times.",
            field="estimated_resolution_at",
        )
    if estimated_resolution_at is not None:
        if timezone.is_naive(estimated_resolution_at):
            raise DomainError(
                "Give a time zone with the estimated resolution time.",
                field="estimated_resolution_at",
            )
        if not public:
            raise DomainError(
                "An estimated resolution time goes with a public reply.",
                field="estimated_resolution_at",
            )
    body = clean_text(body, field="body", max_length=50_000)
    files = list(files)
    content_types = [_validate_upload(f) for f in files]

    comment = Comment(
        ticket=ticket,
        author=author,
        body=body,
        public=public,
        by_staff=staff,
        estimated_resolution_at=estimated_resolution_at,
    )
    signals.reply_posting.send(sender=Comment, ticket=ticket, comment=comment, actor=author)
    comment.save()
    _record(
        ticket=ticket,
        actor=author,
        action=TicketEvent.Action.COMMENTED if public else TicketEvent.Action.NOTE_ADDED,
        changes=(
            {"estimated_resolution_at": [None, estimated_resolution_at.isoformat()]}
            if estimated_resolution_at
            else {}
        ),
    )
    for file, content_type in zip(files, content_types, strict=True):
        _attachment_save(
            ticket=ticket, uploaded_by=author, file=file, content_type=content_type, comment=comment
        )
    signals.reply_posted.send(sender=Comment, ticket=ticket, comment=comment, actor=author)
    _client_replied_mark(ticket=ticket, comment=comment)

    if staff and public and ticket.status == Status.NEW:
        _status_set(ticket=ticket, actor=author, status=Status.IN_PROGRESS)
    elif not staff and ticket.status in (Status.WAITING_ON_CLIENT, Status.RESOLVED):
        _status_set(
            ticket=ticket, actor=author, status=Status.IN_PROGRESS, message="The client replied."
        )
    return comment


def _client_replied_mark(*, ticket: Ticket, comment: Comment) -> None:
    """Keep "updated by the client since our last reply": set at the client's first reply
    after Rx.Health's last public reply, cleared by the next public staff reply."""
    if not comment.by_staff:
        if ticket.client_replied_at is not None:
            return
        ticket.client_replied_at = comment.created_at
    elif comment.public and ticket.client_replied_at is not None:
        ticket.client_replied_at = None
    else:
        return
    Ticket.objects.filter(pk=ticket.pk).update(client_replied_at=ticket.client_replied_at)


def _status_set(*, ticket: Ticket, actor: Actor, status: str, message: str = "") -> None:
    before = ticket.status
    now = timezone.now()
    ticket.status = status
    fields = ["status", "updated_at"]
    if status == Status.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
    elif status == Status.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    elif before in (Status.RESOLVED, Status.CLOSED):
        ticket.resolved_at = None
        ticket.closed_at = None
        fields += ["resolved_at", "closed_at"]
    ticket.save(update_fields=fields)
    _record(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.STATUS_CHANGED,
        changes={"status": [before, status]},
        message=message,
    )
    if before in (Status.RESOLVED, Status.CLOSED) and ticket.major_incident_id:
        from .major_incidents import major_incident_unlink_reopened  # it builds on this module

        major_incident_unlink_reopened(ticket=ticket, actor=actor)
    signals.status_changed.send(
        sender=Ticket, ticket=ticket, actor=actor, before=before, after=status
    )


@transaction.atomic
def ticket_status_change(*, ticket: Ticket, actor: Actor, status: str, message: str = "") -> Ticket:
    """Move a ticket to another status. Staff may make any listed move; a site's pm and it
    members may mark it resolved and reopen it."""
    ticket = _lock(ticket)
    if status not in Status.values:
        raise DomainError(f"Choose one of: {', '.join(Status.values)}.", field="status")
    if status == ticket.status:
        return ticket
    if is_staff(actor):
        allowed = TRANSITIONS.get(ticket.status, set())
    else:
        _require_member_can_write(user=actor, site=ticket.site)
        if status not in set().union(*CLIENT_TRANSITIONS.values()):
            raise NotAllowed(
                "Site contacts may mark a ticket resolved or reopen it; Rx.Health staff "
                "make the other changes.",
                field="status",
            )
        allowed = CLIENT_TRANSITIONS.get(ticket.status, set())
    if status not in allowed:
        raise Conflict(
            f"A ticket that is {ticket.get_status_display().lower()} cannot be moved to "
            f"{Status(status).label.lower()}.",
            field="status",
        )
    _status_set(ticket=ticket, actor=actor, status=status, message=message)
    return ticket


@transaction.atomic
def ticket_impact_change(*, ticket: Ticket, actor: Actor, impact: str) -> Ticket:
    """Change an incident's impact (staff only); the SLA re-targets its clocks."""
    ticket = _lock(ticket)
    if not is_staff(actor):
        raise NotAllowed("Only Rx.Health staff change the impact.", field="impact")
    _, impact = _validate_kind_impact(ticket.kind, impact)
    if impact == ticket.impact:
        return ticket
    before = ticket.impact
    ticket.impact = impact
    ticket.save(update_fields=["impact", "updated_at"])
    _record(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.IMPACT_CHANGED,
        changes={"impact": [before, impact]},
    )
    signals.impact_changed.send(
        sender=Ticket, ticket=ticket, actor=actor, before=before, after=impact
    )
    return ticket


def _require_assigner(actor: Actor) -> None:
    if not is_staff(actor):
        raise NotAllowed("Only Rx.Health staff assign tickets.", field="assignee")


def _assignee_by_username(*, actor: Actor, username: str | None) -> Actor | None:
    """The active staff member named `username` (None unassigns). Asks about the actor first,
    so a caller who may not assign learns nothing about which staff names exist."""
    _require_assigner(actor)
    if username is None:
        return None
    assignee = User.objects.filter(username=username, is_staff=True, is_active=True).first()
    if assignee is None:
        raise DomainError("No active Rx.Health staff member has this name.", field="assignee")
    return assignee


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor: Actor, assignee: Actor | None) -> Ticket:
    """Assign the ticket to an active staff member, or unassign it with None (staff only)."""
    ticket = _lock(ticket)
    _require_assigner(actor)
    if assignee is not None and not is_staff(assignee):
        raise DomainError("Tickets can only be assigned to active staff.", field="assignee")
    before_id = ticket.assignee_id
    after_id = assignee.pk if assignee is not None else None
    if before_id == after_id:
        return ticket
    before_name = str(ticket.assignee) if ticket.assignee else None
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    _record(
        ticket=ticket,
        actor=actor,
        action=TicketEvent.Action.ASSIGNED,
        changes={"assignee": [before_name, str(assignee) if assignee else None]},
    )
    signals.assignee_changed.send(
        sender=Ticket, ticket=ticket, actor=actor, before=before_id, after=after_id
    )
    return ticket


_UNSET: Any = object()


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: Actor,
    status: str = _UNSET,
    impact: str = _UNSET,
    assignee: Actor | None = _UNSET,
    assignee_username: str | None = _UNSET,
) -> Ticket:
    """Apply several staff changes at once (admin's form, the API's PATCH), each through its
    own service so each is checked and kept in the history. `assignee_username` names the
    assignee (the API's way), checked before anything changes."""
    if assignee_username is not _UNSET:
        assignee = _assignee_by_username(actor=actor, username=assignee_username)
    if impact is not _UNSET:
        ticket = ticket_impact_change(ticket=ticket, actor=actor, impact=impact)
    if assignee is not _UNSET:
        ticket = ticket_assign(ticket=ticket, actor=actor, assignee=assignee)
    if status is not _UNSET:
        ticket = ticket_status_change(ticket=ticket, actor=actor, status=status)
    return ticket


@transaction.atomic
def membership_set(
    *, site: ClientSite, user: Actor, role: str, actor: Actor | None = None
) -> SiteMembership:
    """Give a user a role at a site, or change it."""
    if role not in Role.values:
        raise DomainError(f"Choose one of: {', '.join(Role.values)}.", field="role")
    with transaction.atomic():
        before = (
            SiteMembership.objects.select_for_update()
            .filter(user=user, site=site)
            .values_list("role", flat=True)
            .first()
        )
        membership, created = SiteMembership.objects.update_or_create(
            user=user, site=site, defaults={"role": role}
        )
        if created:
            _membership_record(
                site=site, member=user, actor=actor, action=MembershipEvent.Action.ADDED, after=role
            )
        elif before != role:
            _membership_record(
                site=site,
                member=user,
                actor=actor,
                action=MembershipEvent.Action.ROLE_CHANGED,
                before=before or "",
                after=role,
            )
    return membership


def _membership_record(
    *,
    site: ClientSite,
    member: Actor,
    actor: Actor | None,
    action: str,
    before: str = "",
    after: str = "",
) -> None:
    MembershipEvent.objects.create(
        site=site,
        member=member,
        member_name=member.email or member.get_username(),
        actor=actor,
        actor_name=(actor.email or actor.get_username()) if actor is not None else "",
        action=action,
        role_before=before or "",
        role_after=after or "",
    )


def _require_site_manager(*, actor: Actor, site: ClientSite) -> None:
    if is_staff(actor):
        return
    if membership_role(user=actor, site=site) != Role.PM:
        raise NotAllowed("Only the site's project managers manage its members.")


def _keep_one_pm(*, site: ClientSite, leaving: SiteMembership) -> None:
    """Refuse to leave a site without a project manager: requests must come through one."""
    if leaving.role != Role.PM:
        return
    pms = list(
        SiteMembership.objects.select_for_update()
        .filter(site=site, role=Role.PM)
        .values_list("pk", flat=True)
    )
    if pms == [leaving.pk]:
        raise Conflict(
            "A site needs at least one project manager: make someone else a project manager first.",
            field="role",
        )


@transaction.atomic
def membership_invite(
    *, site: ClientSite, email: str, role: str, actor: Actor, name: str = ""
) -> tuple[SiteMembership, bool]:
    """Give the person with this email a role at the site (pm only), creating their account
    (named `name`) without a password when they have none. Returns the membership and
    whether it is new."""
    _require_site_manager(actor=actor, site=site)
    email = clean_text(email, field="email", max_length=254).lower()
    first, _, last = clean_text(name, field="name", max_length=150, required=False).partition(" ")
    if role not in Role.values:
        raise DomainError(f"Choose one of: {', '.join(Role.values)}.", field="role")
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if len(matches) > 1:
        raise Conflict(
            "Several accounts use this email; ask Rx.Health support to add this person.",
            field="email",
        )
    if matches and matches[0].is_staff:
        raise DomainError("This address belongs to Rx.Health staff.", field="email")
    try:
        # A savepoint, so two managers inviting the same person at once get a clear answer.
        with transaction.atomic():
            if matches:
                user = matches[0]
            else:
                username = email[:150]
                n = 1
                while User.objects.filter(username=username).exists():
                    n += 1
                    username = f"{email[: 150 - len(str(n)) - 1]}-{n}"
                user = User(username=username, email=email, first_name=first, last_name=last)
                user.set_unusable_password()
                user.save()
            membership = SiteMembership.objects.create(site=site, user=user, role=role)
    except IntegrityError as exc:
        raise Conflict("This person is already a member of the site.", field="email") from exc
    _membership_record(
        site=site, member=user, actor=actor, action=MembershipEvent.Action.INVITED, after=role
    )
    return membership, not matches


@transaction.atomic
def membership_role_change(
    *, site: ClientSite, user: Actor, role: str, actor: Actor
) -> SiteMembership:
    """Change a member's role at the site (pm only); the last project manager stays one."""
    _require_site_manager(actor=actor, site=site)
    membership = SiteMembership.objects.select_for_update().get(site=site, user=user)
    if role not in Role.values:
        raise DomainError(f"Choose one of: {', '.join(Role.values)}.", field="role")
    if role != Role.PM:
        _keep_one_pm(site=site, leaving=membership)
    return membership_set(site=site, user=user, role=role, actor=actor)


@transaction.atomic
def membership_remove(*, site: ClientSite, user: Actor, actor: Actor) -> None:
    """Remove a member from the site (pm only); the last project manager stays."""
    _require_site_manager(actor=actor, site=site)
    membership = SiteMembership.objects.select_for_update().get(site=site, user=user)
    _keep_one_pm(site=site, leaving=membership)
    membership.delete()
    _membership_record(
        site=site,
        member=user,
        actor=actor,
        action=MembershipEvent.Action.REMOVED,
        before=membership.role,
    )


@transaction.atomic
def notifications_resend(*, notification_ids: Iterable[int], actor: Actor) -> int:
    """Put failed notifications back in the outbox with a fresh retry budget (staff only) and
    kick delivery after commit; returns how many were queued again."""
    if not is_staff(actor):
        raise NotAllowed("Only Rx.Health staff resend notifications.")
    ids = [int(pk) for pk in notification_ids]
    return notifications_requeue(
        notifications=Notification.objects.filter(pk__in=ids, status=Notification.Status.FAILED)
    )


@transaction.atomic
def user_timezone_set(*, user: Actor, timezone_name: str) -> UserPreference:
    """Choose the time zone the back office shows this person's times in ("" for each
    ticket's site's zone)."""
    timezone_name = clean_text(timezone_name, field="timezone", max_length=64, required=False)
    if timezone_name:
        try:
            validate_timezone(timezone_name)
        except Exception as exc:
            raise DomainError("Choose a time zone from the list.", field="timezone") from exc
    preference, _ = UserPreference.objects.update_or_create(
        user=user, defaults={"timezone": timezone_name}
    )
    return preference
