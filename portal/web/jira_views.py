"""Old JIRA links keep working: /jira/<KEY>/ leads to the imported ticket."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect

from tickets.actors import AuthenticatedHttpRequest
from tickets.models import Ticket
from tickets.selectors import ticket_get_visible_by_jira_key


@login_required
def jira_redirect(request: AuthenticatedHttpRequest, key: str) -> HttpResponse:
    """To the ticket imported from this JIRA issue, for someone who may see it; 404 for
    everyone else, so a key never reveals that another site's ticket exists."""
    try:
        ticket = ticket_get_visible_by_jira_key(user=request.user, jira_key=key)
    except Ticket.DoesNotExist:
        raise Http404("No ticket came from this JIRA issue.") from None
    return redirect("ticket-detail", reference=ticket.reference)
