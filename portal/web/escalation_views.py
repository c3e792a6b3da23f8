"""Escalation in the client portal: the Escalate action, the support contacts page, and the
acknowledgement link that escalation emails carry (no login: the contacts are not users)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from escalation.selectors import ack_target, escalation_panel, escalation_support_path
from escalation.services import escalation_acknowledge, escalation_request
from tickets.actors import AuthenticatedHttpRequest
from tickets.errors import DomainError, NotAllowed
from tickets.models import Ticket
from tickets.selectors import sites_visible_to, ticket_get_visible


@login_required
@require_http_methods(["GET", "POST"])
def ticket_escalate(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """GET asks for confirmation (which level, which groups will be emailed); POST escalates."""
    try:
        ticket = ticket_get_visible(user=request.user, reference=reference)
    except Ticket.DoesNotExist as exc:
        raise Http404("No such ticket.") from exc
    if request.method == "GET":
        panel = escalation_panel(ticket=ticket, user=request.user)
        if not panel["can_escalate"]:
            messages.error(request, panel["refusal"])
            return redirect("ticket-detail", reference=reference)
        return render(request, "portal/escalation_confirm.html", {"ticket": ticket, "panel": panel})
    try:
        ticket = escalation_request(ticket=ticket, actor=request.user)
    except NotAllowed as exc:
        # The role may never do this (a viewer): the portal's 403 page, not a message.
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{ticket.reference} is now at escalation level {ticket.escalation_level}; "
            "the escalation contacts have been emailed.",
        )
    return redirect("ticket-detail", reference=reference)


@login_required
def support(request: AuthenticatedHttpRequest) -> HttpResponse:
    paths = escalation_support_path(sites=sites_visible_to(request.user))
    return render(request, "portal/support.html", {"paths": paths})


@require_http_methods(["GET", "POST"])
def escalation_ack(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a confirmation form: mail scanners that prefetch links must not
    # acknowledge on the contact's behalf.
    context: dict = {"token": token}
    try:
        target = ack_target(token=token)
        context["target"] = target
        if request.method == "POST":
            context["acknowledgement"] = escalation_acknowledge(
                token=token, user_agent=request.headers.get("User-Agent", "")
            )
    except DomainError as exc:
        context["error"] = exc.message
        return render(request, "portal/escalation_ack.html", context, status=exc.status_code)
    return render(request, "portal/escalation_ack.html", context)
