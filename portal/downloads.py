"""An attachment leaves the portal only through here, for the portal's download link and the
API's `url` alike: it must belong to a ticket the user sees, and goes out as a download that a
browser never renders or caches."""

import logging

from django.http import FileResponse, Http404

from evidence.models import TicketView
from evidence.services import ticket_view_record
from tickets.selectors import attachments_visible_to

logger = logging.getLogger("portal.downloads")


def attachment_response(
    *, user, reference: str, pk: int, face: str = TicketView.Face.PORTAL
) -> FileResponse:
    """The file as a download; Http404 when the user may not see it (or it is gone). A staff
    member's download is recorded (who looked)."""
    if "\x00" in reference:
        raise Http404("No such file.")
    attachment = (
        attachments_visible_to(user)
        .filter(pk=pk, ticket__reference=reference)
        .only("file", "original_name", "content_type", "ticket_id")
        .first()
    )
    if attachment is None:
        raise Http404("No such file.")
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        logger.error("Attachment %s is missing from storage", attachment.pk)
        raise Http404("This file is no longer available.") from exc
    ticket_view_record(
        user=user,
        ticket_id=attachment.ticket_id,
        what=TicketView.What.ATTACHMENT,
        face=face,
        attachment_id=attachment.pk,
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
