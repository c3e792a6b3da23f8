"""The ticket page of the client portal: the thread, the reply box, resolve and reopen, and
attachments. What a visitor may do is asked of the domain (`ticket_can_write`, the
escalation panel); the services ask again before they act."""

from collections import defaultdict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from escalation.models import EscalationLevel
from escalation.selectors import escalation_history, escalation_panel
from portal.downloads import attachment_response
from satisfaction.selectors import ratings_of
from sla.selectors import policy_for
from tickets import services
from tickets.actors import AuthenticatedHttpRequest
from tickets.errors import DomainError, NotAllowed
from tickets.models import Status, Ticket
from tickets.selectors import (
    attachments_visible_to,
    is_staff,
    ticket_can_write,
    ticket_get_visible,
    ticket_thread,
)

from .forms import ReplyForm, StatusForm, domain_error_to_form
from .views import CANNOT_FILE


def _ticket_or_404(request: HttpRequest, reference: str) -> Ticket:
    if "\x00" in reference:  # PostgreSQL refuses NUL in a query: not a reference anyway
        raise Http404("No such ticket.")
    try:
        return ticket_get_visible(user=request.user, reference=reference)
    except Ticket.DoesNotExist as exc:
        raise Http404("No such ticket.") from exc


def _ticket_page(
    request: HttpRequest,
    ticket: Ticket,
    reply_form: ReplyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    thread = ticket_thread(user=user, ticket=ticket)
    by_comment = defaultdict(list)
    ticket_files = []
    for attachment in attachments_visible_to(user).filter(ticket=ticket).order_by("created_at"):
        if attachment.comment_id:
            by_comment[attachment.comment_id].append(attachment)
        else:
            ticket_files.append(attachment)
    for entry in thread:
        if entry.comment is not None:
            entry.files = by_comment.get(entry.comment.pk, [])
    can_write = ticket_can_write(user=user, ticket=ticket)
    level = EscalationLevel.objects.filter(number=ticket.escalation_level).first()
    now = timezone.now()
    context = {
        "ticket": ticket,
        "thread": thread,
        # What "waiting on you" waits for: Rx.Health's latest public reply.
        "question": next((e for e in reversed(thread) if e.kind == "staff"), None),
        "ticket_files": ticket_files,
        "can_write": can_write,
        "is_open": ticket.is_open,
        "level": level,
        "policy": policy_for(kind=ticket.kind, impact=ticket.impact),
        "response_overdue": bool(
            ticket.response_due_at and ticket.response_due_at <= now and not ticket.responded_at
        ),
        "escalation": escalation_panel(ticket=ticket, user=user),
        "escalations": list(escalation_history(ticket=ticket)),
        "ratings": ratings_of(ticket=ticket),
        "reply_form": reply_form or ReplyForm(),
        "max_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "portal/ticket_detail.html", context, status=status)


@login_required
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = _ticket_or_404(request, reference)
    if is_staff(request.user):
        # Agents work tickets in the back office (estimate field, internal notes).
        return redirect("admin:tickets_ticket_change", ticket.pk)
    return _ticket_page(request, ticket)


@login_required
@require_POST
def ticket_reply(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = _ticket_or_404(request, reference)
    if not ticket_can_write(user=request.user, ticket=ticket):
        raise PermissionDenied(CANNOT_FILE)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            comment = services.comment_post(
                ticket=ticket,
                author=request.user,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["attachments"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            domain_error_to_form(form, exc, {"file": "attachments"})
        else:
            messages.success(request, "Your reply is posted.")
            return redirect(f"{reverse('ticket-detail', args=[reference])}#comment-{comment.pk}")
    return _ticket_page(request, ticket, reply_form=form, status=400)


@login_required
@require_POST
def ticket_status(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Mark resolved, or reopen (as the client: back to in progress)."""
    ticket = _ticket_or_404(request, reference)
    if not ticket_can_write(user=request.user, ticket=ticket):
        raise PermissionDenied(CANNOT_FILE)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Mark resolved or Reopen.")
        return redirect("ticket-detail", reference=reference)
    target = form.cleaned_data["status"]
    try:
        services.ticket_status_change(ticket=ticket, actor=request.user, status=target)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if target == Status.RESOLVED:
            messages.success(request, f"{reference} is marked resolved.")
        else:
            messages.success(request, f"{reference} is reopened.")
    return redirect("ticket-detail", reference=reference)


@login_required
def attachment_download(request: HttpRequest, reference: str, pk: int) -> FileResponse:
    """Files leave only through portal.downloads (shared with the API)."""
    return attachment_response(user=request.user, reference=reference, pk=pk)
