"""Staff-only pages linked from the admin: the dashboard and the monthly SLA report.
Thin: parse input, call a selector, render."""

from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from satisfaction.selectors import ratings_recent, ratings_summary, ratings_visible
from sla.report import sla_report_get
from tickets.actors import AuthenticatedHttpRequest
from tickets.errors import DomainError
from tickets.models import SLAState
from tickets.selectors import sites_visible_to, tickets_visible_to, user_timezone
from tickets.services import user_timezone_set

from .evidence_views import pack_links
from .formatting import duration_short, sla_phrase
from .forms import PreferencesForm, ReportForm, current_month
from .report_render import report_charts, report_csv
from .selectors import dashboard_get

RATINGS_WINDOW = timedelta(days=30)  # the dashboard's "share good" covers this long
IMPACT_COLUMNS = [("high", "High"), ("medium", "Medium"), ("low", "Low"), ("", "No impact")]


@staff_member_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    data = dashboard_get(tickets=tickets_visible_to(request.user), now=now)
    grid = [
        {
            "state": state,
            "label": label,
            "cells": [
                {
                    "count": data.open_by_state.get(state, {}).get(impact, 0),
                    "query": urlencode(
                        {"queue": "open", "sla_state__exact": state, "impact__exact": impact}
                    ),
                }
                for impact, _ in IMPACT_COLUMNS
            ],
            "total": sum(data.open_by_state.get(state, {}).values()),
        }
        for state, label in SLAState.choices
    ]
    upcoming = [
        {"ticket": t, "phrase": sla_phrase(state=t.sla_state, due_at=t.due_at, now=now)}
        for t in data.next_to_breach
    ]
    scan_age = duration_short(now - data.scan.started_at) if data.scan else None
    visible = tickets_visible_to(request.user)
    rated_recently = ratings_visible(tickets=visible).filter(rated_at__gte=now - RATINGS_WINDOW)
    context = {
        **admin.site.each_context(request),
        "title": "Staff dashboard",
        "data": data,
        "grid": grid,
        "impact_columns": IMPACT_COLUMNS,
        "upcoming": upcoming,
        "scan_age": scan_age,
        "ratings": ratings_recent(tickets=visible),
        "ratings_summary": ratings_summary(ratings=rated_recently),
        "ratings_window_days": RATINGS_WINDOW.days,
    }
    return render(request, "backoffice/dashboard.html", context)


@staff_member_required
def sla_report(request: AuthenticatedHttpRequest) -> HttpResponse:
    data: Mapping[str, str] | None = request.GET
    if "site" not in request.GET:
        # Without a choice, show last month's report for the first site straight away.
        first = (
            sites_visible_to(request.user).order_by("name").values_list("slug", flat=True).first()
        )
        data = {"site": first, "month": current_month()} if first else None
    form = ReportForm(data, initial={"month": current_month()})
    report = None
    context = {**admin.site.each_context(request), "title": "SLA compliance report", "form": form}
    if form.is_bound and form.is_valid():
        site = form.cleaned_data["site"]
        year, month = form.cleaned_data["month"]
        report = sla_report_get(
            tickets=tickets_visible_to(request.user), site=site, year=year, month=month
        )
        if request.GET.get("format") == "csv":
            return report_csv(report, slug=site.slug, month=f"{year:04d}-{month:02d}")
        context.update(report_charts(report))
        query = request.GET.copy()
        query["format"] = "csv"
        context["csv_query"] = query.urlencode()
        pack_url = reverse("backoffice:evidence-pack")
        context.update(pack_links(pack_url, month=(year, month), site=site.slug))
    context["report"] = report
    return render(request, "backoffice/sla_report.html", context)


@staff_member_required
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, initial={"timezone": user_timezone(request.user)})
    if request.method == "POST" and form.is_valid():
        try:
            user_timezone_set(user=request.user, timezone_name=form.cleaned_data["timezone"])
        except DomainError as exc:
            form.add_error("timezone", exc.message)
        else:
            messages.success(request, "Your time zone is saved.")
            return redirect("backoffice:preferences")
    context = {**admin.site.each_context(request), "title": "Your preferences", "form": form}
    status = 400 if form.errors else 200
    return render(request, "backoffice/preferences.html", context, status=status)
