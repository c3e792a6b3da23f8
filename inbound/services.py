"""Replies by email: each message read from the support mailbox is kept as a row, matched to a
ticket, and handed to the ticket services as if its sender had used the portal. This app is a
face: the rules (who may reply, clocks, history, attachment checks) stay in `tickets` and the
apps above it, reached through `comment_post`, `ticket_create` and `attachment_add`.

Nothing from an inbound message is echoed in an email: answers use fixed wording only.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from tickets.actors import Actor
from tickets.email_threading import (
    is_support_address,
    references_in_message_ids,
    reply_address_parse,
)
from tickets.errors import Conflict, DomainError, NotAllowed
from tickets.models import Comment, Kind, Notification, Ticket
from tickets.outbox import notifications_enqueue
from tickets.selectors import is_staff, sites_where_can_file, tickets_visible_to
from tickets.services import attachment_add, comment_post, ticket_create

from .models import InboundMessage
from .parse import ParsedAttachment, ParsedMail, mail_parse

User = get_user_model()
Outcome = InboundMessage.Outcome
MatchedBy = InboundMessage.MatchedBy

ONLY_CONTACTS = (
    "Replies by email are accepted from the project managers and IT staff of the ticket's site, "
    "writing from the address of their portal account."
)
UNKNOWN_SENDER = (
    "Your address does not belong to a portal account, so we could not tell who wrote. "
    "Replies by email are accepted from the project managers and IT staff of a site."
)
FORGED_ADDRESS = "The reply address it was sent to is not one the portal gave out."
SEVERAL_SITES = (
    "You are a project manager or IT contact at several sites, so we could not tell which "
    "site a new request is for: please file it in the portal."
)
NOT_ALLOWED_TO_FILE = (
    "New requests by email are accepted from the project managers and IT staff of a site."
)


@dataclass
class _Match:
    ticket: Ticket | None = None
    matched_by: str = ""
    refusal: str = ""


def _sender(address: str) -> Actor | None:
    """The active account with this email, when exactly one has it."""
    if not address:
        return None
    users = list(User.objects.filter(email__iexact=address, is_active=True)[:2])
    return users[0] if len(users) == 1 else None


def _match(mail: ParsedMail, sender: Actor | None) -> _Match:
    """The ticket a message answers: by signed reply address, then by our Message-IDs in its
    headers, then by a reference in the subject (only among the sender's own tickets)."""
    for address in mail.recipients:
        named = reply_address_parse(address)
        if named is None:
            continue
        reference, valid = named
        if not valid:
            return _Match(refusal=FORGED_ADDRESS)
        ticket = Ticket.objects.select_related("site").filter(reference=reference).first()
        if ticket is not None:
            return _Match(ticket=ticket, matched_by=MatchedBy.TOKEN)
    for reference in references_in_message_ids(mail.thread_headers):
        ticket = Ticket.objects.select_related("site").filter(reference=reference).first()
        if ticket is not None:
            return _Match(ticket=ticket, matched_by=MatchedBy.HEADERS)
    if sender is not None:
        pattern = re.escape(settings.TICKET_REFERENCE_PREFIX) + r"\d+"
        for reference in re.findall(pattern, mail.subject, flags=re.IGNORECASE):
            ticket = tickets_visible_to(sender).filter(reference=reference.upper()).first()
            if ticket is not None:
                return _Match(ticket=ticket, matched_by=MatchedBy.SUBJECT)
    return _Match()


def _answer(row: InboundMessage, *, reason: str, accepted: Ticket | None = None) -> None:
    """A short answer to the sender through the outbox, at most
    INBOUND_ANSWERS_PER_SENDER_PER_HOUR per sender; fixed wording, nothing of theirs quoted."""
    now = timezone.now()
    answered = InboundMessage.objects.filter(
        from_address=row.from_address, answered_at__gt=now - timedelta(hours=1)
    ).count()
    if answered >= settings.INBOUND_ANSWERS_PER_SENDER_PER_HOUR:
        row.reason = f"{row.reason} Not answered: this sender had {answered} answers this hour."
        return
    context = {
        "reason": reason,
        "accepted_reference": accepted.reference if accepted else "",
        "portal_url": settings.PORTAL_BASE_URL + "/",
        "support_phone": settings.SUPPORT_PHONE,
    }
    notifications_enqueue(
        ticket=None,
        event=Notification.Event.MAIL_ANSWER,
        sequence=row.pk,
        recipients=[row.from_address],
        subject=(
            f"[{accepted.reference}] Your reply was added, with a file left out"
            if accepted
            else "Your email to Rx.Health support was not added to a ticket"
        ),
        body_text=render_to_string("emails/mail_answer.txt", context),
        body_html=render_to_string("emails/mail_answer.html", context),
    )
    row.answered_at = now


def _refuse(row: InboundMessage, reason: str) -> None:
    row.outcome = Outcome.REFUSED
    row.reason = reason
    _answer(row, reason=reason)


def _attach_files(
    row: InboundMessage,
    *,
    ticket: Ticket,
    author: Actor,
    comment: Comment | None,
    files: list[ParsedAttachment],
) -> int:
    """Each file through the ticket's own size and type checks; a refused file is left out and
    the text stays. Returns how many were refused (their reasons go to the ledger)."""
    refused = []
    for file in files:
        upload = SimpleUploadedFile(file.name, file.content)
        try:
            attachment_add(ticket=ticket, uploaded_by=author, file=upload, comment=comment)
        except DomainError as exc:
            refused.append(exc.message)
    if refused:
        row.reason = " ".join([row.reason, *refused]).strip()[:500]
    return len(refused)


def _comment(
    row: InboundMessage, mail: ParsedMail, *, sender: Actor | None, ticket: Ticket
) -> None:
    if sender is None:
        _refuse(row, UNKNOWN_SENDER)
        return
    body = mail.text or ("(Sent by email with attachments only.)" if mail.attachments else "")
    try:
        comment = comment_post(ticket=ticket, author=sender, body=body, public=True)
    except NotAllowed:
        _refuse(row, ONLY_CONTACTS)
        return
    except DomainError as exc:  # a closed ticket, an empty reply, a staff reply without estimate
        _refuse(row, exc.message)
        return
    row.outcome = Outcome.COMMENTED
    row.comment = comment
    refused = _attach_files(
        row, ticket=ticket, author=sender, comment=comment, files=mail.attachments
    )
    if refused:
        _answer(
            row,
            reason=f"{refused} attached file(s) were not accepted: "
            "attach PDF, images, text or log files, CSV, ZIP, Word or Excel documents.",
            accepted=ticket,
        )


def _file(row: InboundMessage, mail: ParsedMail, *, sender: Actor | None) -> None:
    """A message that names no ticket: a pm or it member of one site files a general request
    there; staff mail waits in the ledger for someone to attach it."""
    if sender is None:
        _refuse(row, UNKNOWN_SENDER)
        return
    if is_staff(sender):
        row.outcome = Outcome.UNMATCHED
        row.reason = "Staff email that names no ticket."
        return
    sites = list(sites_where_can_file(sender).order_by("pk")[:2])
    if not sites:
        _refuse(row, NOT_ALLOWED_TO_FILE)
        return
    if len(sites) > 1:
        _refuse(row, SEVERAL_SITES)
        return
    description = "\n\n".join(
        p for p in (f"Subject: {mail.subject}" if mail.subject else "", mail.text) if p
    )
    try:
        # The title goes into every email about the ticket, so none of the message's words.
        ticket = ticket_create(
            actor=sender,
            site=sites[0],
            kind=Kind.GENERAL,
            title=f"Request by email from {sender.get_full_name() or sender.email}",
            description=description or "(Sent by email with attachments only.)",
        )
    except NotAllowed:
        _refuse(row, NOT_ALLOWED_TO_FILE)
        return
    except DomainError as exc:
        _refuse(row, exc.message)
        return
    row.outcome = Outcome.FILED
    row.ticket = ticket
    _attach_files(row, ticket=ticket, author=sender, comment=None, files=mail.attachments)


@transaction.atomic
def inbound_message_receive(*, raw: bytes) -> tuple[InboundMessage, bool]:
    """Process one raw message from the mailbox once (by Message-ID): keep it, match it and
    act on it. Returns the row and whether it is new (False: it was processed before)."""
    mail = mail_parse(raw)
    existing = InboundMessage.objects.filter(message_id=mail.message_id).first()
    if existing is not None:
        return existing, False
    row = InboundMessage(
        message_id=mail.message_id,
        received_at=timezone.now(),
        from_address=mail.from_address[:254],
        subject=mail.subject,
        text=mail.text[:50_000],
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # another worker took it a moment ago
        return InboundMessage.objects.get(message_id=mail.message_id), False
    row.original.save(f"{row.pk}.eml", ContentFile(raw), save=False)

    if is_support_address(mail.from_address):
        row.outcome, row.reason = Outcome.IGNORED, "Sent from the support mailbox itself."
    else:
        row.sender = _sender(mail.from_address)
        match = _match(mail, row.sender)
        row.ticket, row.matched_by = match.ticket, match.matched_by  # shown to staff
        if mail.automatic_reason:
            row.outcome, row.reason = Outcome.IGNORED, mail.automatic_reason
        elif match.refusal:
            _refuse(row, match.refusal)
        elif match.ticket is None:
            _file(row, mail, sender=row.sender)
        else:
            _comment(row, mail, sender=row.sender, ticket=match.ticket)
    row.save()
    return row, True


@transaction.atomic
def inbound_message_attach(*, message: InboundMessage, ticket: Ticket, actor: Actor) -> Comment:
    """Staff put a message that reached no ticket on one: as its sender's reply when the sender
    may reply there, otherwise as an internal note quoting it (staff only)."""
    if not is_staff(actor):
        raise NotAllowed("Only Rx.Health staff attach inbound mail to tickets.")
    message = InboundMessage.objects.select_for_update().get(pk=message.pk)
    if message.comment_id is not None or message.outcome == Outcome.FILED:
        raise Conflict("This email is on a ticket already.")
    mail = mail_parse(message.original.read()) if message.original else None
    files = mail.attachments if mail else []
    body = message.text or "(Sent by email with attachments only.)"
    try:
        with transaction.atomic():
            if message.sender is None:
                raise NotAllowed(UNKNOWN_SENDER)
            comment = comment_post(ticket=ticket, author=message.sender, body=body)
            author = message.sender
    except NotAllowed:
        when = timezone.localtime(message.received_at).strftime("%Y-%m-%d %H:%M %Z")
        sender = message.from_address or "an unknown sender"
        comment = comment_post(
            ticket=ticket,
            author=actor,
            body=f"Email from {sender} received {when}:\n\n{body}",
            public=False,
        )
        author = actor
    message.ticket, message.comment = ticket, comment
    message.outcome, message.matched_by = Outcome.ATTACHED, MatchedBy.STAFF
    message.reason = f"Attached by {actor}."
    _attach_files(message, ticket=ticket, author=author, comment=comment, files=files)
    message.save()
    return comment
