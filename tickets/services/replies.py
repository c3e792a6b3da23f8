"""Replies and internal notes."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from .. import notify, signals
from ..errors import Conflict, DomainError, NotAllowed
from ..models import (
    Comment,
    Status,
    Ticket,
    TicketEvent,
)
from ..selectors import is_staff
from .changes import _status_set
from .common import _lock, _record, _require_member_can_write, _validate_upload, clean_text
from .filing import _attachment_save


@transaction.atomic
def comment_post(
    *,
    ticket: Ticket,
    author: Any,
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
    notify.reply_notify(ticket=ticket, comment=comment)
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
