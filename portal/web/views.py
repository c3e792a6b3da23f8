"""The client portal's pages (a first cut: the dashboard and a ticket's page)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tickets.models import Ticket
from tickets.selectors import comments_visible_to, ticket_get_visible, tickets_visible_to


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    tickets = tickets_visible_to(request.user).select_related("site", "assignee")[:50]
    return render(request, "portal/dashboard.html", {"tickets": tickets})


@login_required
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        ticket = ticket_get_visible(user=request.user, reference=reference)
    except Ticket.DoesNotExist as exc:
        raise Http404("No such ticket.") from exc
    comments = comments_visible_to(user=request.user, ticket=ticket)
    return render(request, "portal/ticket_detail.html", {"ticket": ticket, "comments": comments})
