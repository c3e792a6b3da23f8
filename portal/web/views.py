"""The client portal's dashboard and new-ticket pages. Like every page module here (ticket,
members, accounts, escalation, reports): thin, reading through tickets.selectors (tenancy
lives there), writing through the services, turning a DomainError into a form error."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, F, Value, When
from django.http import HttpResponse
from django.shortcuts import redirect, render

from portal.backoffice.selectors import tickets_with_due
from sla.models import SLAPolicy
from tickets import services
from tickets.actors import AuthenticatedHttpRequest
from tickets.errors import DomainError, NotAllowed
from tickets.impact import QUESTIONS as IMPACT_QUESTIONS
from tickets.impact import impact_table_json
from tickets.models import OPEN_STATUSES, Impact, Kind, Status
from tickets.selectors import (
    major_incident_banners,
    sites_visible_to,
    sites_where_can_file,
    tickets_search,
    tickets_visible_to,
)

from .forms import DashboardFilterForm, TicketCreateForm, domain_error_to_form

CANNOT_FILE = (
    "Only a site's project managers and IT staff can file or reply to tickets. "
    "Ask your site's project manager if you need to."
)

# Plain-language help for the impact chooser, from the support document.
IMPACT_HELP: dict[str, str] = {
    Impact.HIGH: "The platform or service is completely unavailable, or so degraded for "
    "multiple users that it is unusable, or the issue impacts revenue or time-sensitive "
    "regulatory compliance.",
    Impact.MEDIUM: "Limited functionality or marginally degraded capacity or performance for "
    "multiple users (more than 5% of all users).",
    Impact.LOW: "No more than 5% of users cannot use the service, or a non-critical component "
    "is unavailable, or a feature is unavailable and another can readily be used.",
}
KIND_HELP: dict[str, str] = {
    Kind.GENERAL: "A question about the platform or how to do something.",
    Kind.TASK: "Routine work for Rx.Health to do, such as adding a user or a printer.",
    Kind.CHANGE: "A change to configuration, interfaces or workflow at your site.",
    Kind.INCIDENT: "Something is broken, slow or unavailable.",
}


# DASHBOARD


@login_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    sites = list(sites_visible_to(user).order_by("name"))
    form = DashboardFilterForm(request.GET or None, sites=sites)
    f = form.filters() if request.GET else DashboardFilterForm(sites=sites).filters()
    tickets = tickets_visible_to(user).select_related("site")
    if f["state"] == "open":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    elif f["state"] == "closed":
        tickets = tickets.exclude(status__in=OPEN_STATUSES)
    if f["status"]:
        tickets = tickets.filter(status=f["status"])
    if f["kind"]:
        tickets = tickets.filter(kind=f["kind"])
    if f["site"]:
        tickets = tickets.filter(site__slug=f["site"])
    if f["q"]:
        tickets = tickets_search(tickets, term=f["q"])
    # What needs the client first: tickets waiting on them, then open ones by time to breach.
    tickets = tickets_with_due(tickets).annotate(
        attention=Case(
            When(status=Status.WAITING_ON_CLIENT, then=Value(0)),
            When(status__in=OPEN_STATUSES, then=Value(1)),
            default=Value(2),
        )
    )
    tickets = tickets.order_by("attention", F("due_at").asc(nulls_last=True), "-created_at", "-id")
    page = Paginator(tickets, settings.PORTAL_DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    high_open = list(
        tickets_visible_to(user)
        .filter(kind=Kind.INCIDENT, impact=Impact.HIGH, status__in=OPEN_STATUSES)
        .order_by("-created_at")
        .values_list("reference", "title", "status")[:5]
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/dashboard.html",
        {
            "page": page,
            "form": form,
            "filters": f,
            "query": query.urlencode(),
            "high_open": high_open,
            "high_waiting_on_client": any(s == Status.WAITING_ON_CLIENT for _, _, s in high_open),
            "major_incidents": major_incident_banners(user=user),
            "multi_site": len(sites) > 1,
            "can_file": sites_where_can_file(user).exists(),
        },
    )


# NEW TICKET


def _policies() -> dict[str, SLAPolicy]:
    return {f"{p.kind}:{p.impact}": p for p in SLAPolicy.objects.all()}


@login_required
def ticket_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    sites = sites_where_can_file(request.user).order_by("name")
    if not sites.exists():
        raise PermissionDenied(CANNOT_FILE)
    if request.method == "POST":
        form = TicketCreateForm(request.POST, request.FILES, sites=sites)
    else:
        form = TicketCreateForm(sites=sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                actor=request.user,
                site=data["site"],
                kind=data["kind"],
                impact=data["impact"],
                title=data["title"],
                description=data["description"],
                files=data["attachments"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            domain_error_to_form(form, exc, {"file": "attachments"})
        else:
            messages.success(request, f"{ticket.reference} is filed. Rx.Health has been alerted.")
            return redirect("ticket-detail", reference=ticket.reference)
    policies = _policies()
    kinds = [
        {
            "value": value,
            "label": label,
            "help": KIND_HELP[value],
            "policy": policies.get(f"{value}:"),
        }
        for value, label in Kind.choices
    ]
    impacts = [
        {
            "value": value,
            "label": label,
            "help": IMPACT_HELP[value],
            "policy": policies.get(f"{Kind.INCIDENT}:{value}"),
        }
        for value, label in Impact.choices
    ]
    return render(
        request,
        "portal/ticket_new.html",
        {
            "form": form,
            "kinds": kinds,
            "impacts": impacts,
            "impact_questions": IMPACT_QUESTIONS,
            "impact_table": impact_table_json(),
            "max_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
            "allowed_types": settings.ATTACHMENT_ALLOWED_TYPES,
        },
        status=400 if form.is_bound and form.errors else 200,
    )
