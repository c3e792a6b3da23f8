"""The monthly SLA report for a site's project managers, in the portal: the same figures staff
see, for their own site only."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render

from portal.backoffice.forms import MonthForm, current_month
from portal.backoffice.report_render import report_charts, report_csv
from portal.backoffice.selectors import sla_report_get
from tickets.actors import AuthenticatedHttpRequest
from tickets.models import ClientSite, Role
from tickets.selectors import is_staff, membership_role, sites_visible_to, tickets_visible_to


@login_required
def site_sla_report(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    try:
        site = sites_visible_to(request.user).get(slug=slug)
    except ClientSite.DoesNotExist as exc:
        raise Http404("No such site.") from exc
    if not is_staff(request.user) and membership_role(user=request.user, site=site) != Role.PM:
        raise PermissionDenied("Only the site's project managers see its SLA report.")
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
    return render(request, "portal/sla_report.html", context)
