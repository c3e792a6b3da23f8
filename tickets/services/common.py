"""What every ticket service shares: text and upload checks, the row lock, the history."""

from typing import Any

import filetype
from django.conf import settings
from django.core.files.base import File

from ..actors import Actor
from ..errors import DomainError
from ..models import (
    ClientSite,
    Impact,
    Kind,
    Ticket,
    TicketEvent,
)
from ..selectors import ticket_write_refusal

TEXT_EXTENSIONS = {".txt": "text/plain", ".log": "text/plain", ".csv": "text/csv"}


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
    """Check size and real content type (of an upload, or a file read from an export);
    returns the content type to store."""
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
    # Callers look tickets up through the tenancy selector first; this is the backstop.
    refusal = ticket_write_refusal(user=user, site=site)
    if refusal is not None:
        raise refusal
