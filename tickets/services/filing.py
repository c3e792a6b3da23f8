"""Filing a ticket and attaching files."""

from collections.abc import Iterable

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from .. import notify, signals
from ..actors import Actor
from ..errors import Conflict, DomainError, NotAllowed
from ..models import (
    FILING_ROLES,
    Attachment,
    ClientSite,
    Comment,
    Status,
    Ticket,
    TicketEvent,
)
from ..selectors import is_staff, membership_role
from .common import (
    _lock,
    _record,
    _require_member_can_write,
    _validate_kind_impact,
    _validate_upload,
    clean_text,
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
    notify.ticket_filed_notify(ticket=ticket)
    return ticket


def _attachment_save(
    *, ticket: Ticket, uploaded_by: Actor, file: UploadedFile, content_type: str, comment=None
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
