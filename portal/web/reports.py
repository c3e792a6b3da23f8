"""The monthly SLA report for a site's project managers, in the portal: the same figures staff
see, for their own site only; its evidence pack; and who at Rx.Health opened their tickets."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse

from evidence.selectors import ticket_views_for_site
from portal.backoffice.evidence_views import pack_format, pack_links, pack_response
from portal.backoffice.forms import MonthForm, current_month
from portal.backoffice.report_render import report_charts, report_csv
from sla.report import sla_report_get
from tickets.models import ClientSite
from tickets.selectors import site_can_manage, sites_visible_to, tickets_visible_to

VIEWS_PER_PAGE = 50


def _report_site(request: HttpRequest, slug: str) -> ClientSite:
    try:
        site = sites_visible_to(request.user).get(slug=slug)
    except ClientSite.DoesNotExist as exc:
        raise Http404("No such site.") from exc
    if not site_can_manage(user=request.user, site=site):
        raise PermissionDenied("Only the site's project managers see its SLA report.")
    return site


@login_required
def site_sla_report(request: HttpRequest, slug: str) -> HttpResponse:
    site = _report_site(request, slug)
    # Without a month asked for, show this month so far straight away.
    form = MonthForm(request.GET if "month" in request.GET else {"month": current_month()})
    context = {"site": site, "form": form, "report": None}
    if form.is_valid():
        year, month = form.cleaned_data["month"]
        report = sla_report_get(
            tickets=tickets_visible_to(request.user), site=site, year=year, month=month
        )
        if request.GET.get("format") == "csv":
            return report_csv(report, slug=site.slug, month=f"{year:04d}-{month:02d}")
        query = request.GET.copy()
        query["format"] = "csv"
        context.update(report_charts(report), report=report, csv_query=query.urlencode())
        context.update(
            pack_links(reverse("site-evidence-pack", args=[site.slug]), month=(year, month))
        )
    return render(request, "portal/sla_report.html", context)


@login_required
def site_evidence_pack(request: HttpRequest, slug: str) -> HttpResponse:
    """The month's evidence pack: ?month=YYYY-MM&format=pdf (default) or json."""
    site = _report_site(request, slug)
    form = MonthForm(request.GET)
    fmt = pack_format(request)
    if not form.is_valid() or fmt is None:
        problem = (
            " ".join(str(e) for e in form.errors.get("month", []))
            or "Give format=pdf or format=json."
        )
        return HttpResponseBadRequest(
            f"Cannot build the evidence pack: {problem}", content_type="text/plain"
        )
    year, month = form.cleaned_data["month"]
    return pack_response(request=request, site=site, year=year, month=month, fmt=fmt)


@login_required
def site_ticket_views(request: HttpRequest, slug: str) -> HttpResponse:
    """Who at Rx.Health opened the site's tickets, newest first."""
    site = _report_site(request, slug)
    views = ticket_views_for_site(tickets=tickets_visible_to(request.user), site=site)
    page = Paginator(views, VIEWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "evidence/ticket_views.html", {"site": site, "page": page})
