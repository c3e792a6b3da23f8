"""Staff-only pages linked from the admin: the dashboard and the monthly SLA report.
Thin: parse input, call a selector, render."""

import csv
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tickets.models import Impact, SLAState
from tickets.selectors import tickets_visible_to

from .charts import Segment, legend_html, stacked_bars_svg
from .formatting import duration_short, sla_phrase
from .forms import ReportForm, previous_month
from .selectors import SLAReport, dashboard_get, sla_report_get

IMPACT_COLUMNS = [("high", "High"), ("medium", "Medium"), ("low", "Low"), ("", "No impact")]


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
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
    context = {
        **admin.site.each_context(request),
        "title": "Staff dashboard",
        "data": data,
        "grid": grid,
        "impact_columns": IMPACT_COLUMNS,
        "upcoming": upcoming,
        "scan_age": scan_age,
    }
    return render(request, "backoffice/dashboard.html", context)


RESPONSE_SEGMENTS = [
    Segment(0, "bar-met", "Met"),
    Segment(0, "bar-missed", "Missed"),
    Segment(0, "bar-pending", "No response yet"),
]
UPDATE_SEGMENTS = [Segment(0, "bar-human", "Staff replies"), Segment(0, "bar-auto", "Automated")]


def _charts(report: SLAReport) -> dict:
    response_bars = [
        (
            row.label,
            [
                Segment(row.met, "bar-met", "Met"),
                Segment(row.missed, "bar-missed", "Missed"),
                Segment(row.pending, "bar-pending", "No response yet"),
            ],
        )
        for row in report.rows
    ]
    update_bars = [
        (
            f"{label} impact",
            [
                Segment(report.human_updates.get(value, 0), "bar-human", "Staff replies"),
                Segment(report.automated_updates.get(value, 0), "bar-auto", "Automated"),
            ],
        )
        for value, label in Impact.choices
    ]
    return {
        "response_chart": stacked_bars_svg(title="First responses", bars=response_bars),
        "response_legend": legend_html(RESPONSE_SEGMENTS),
        "update_chart": stacked_bars_svg(title="Client updates on incidents", bars=update_bars),
        "update_legend": legend_html(UPDATE_SEGMENTS),
    }


def _minutes(value) -> str:
    return "" if value is None else f"{value.total_seconds() / 60:.1f}"


def _csv(report: SLAReport, *, slug: str, month: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sla-{slug}-{month}.csv"'
    writer = csv.writer(response)
    writer.writerow(["section", "group", "tickets", "met", "missed", "no_response_yet",
                     "met_percent", "median_minutes", "p90_minutes"])  # fmt: skip
    for row in [*report.rows, report.overall]:
        writer.writerow(
            [
                "first_response",
                row.label,
                row.total,
                row.met,
                row.missed,
                row.pending,
                "" if row.met_percent is None else row.met_percent,
                _minutes(row.median),
                _minutes(row.p90),
            ]
        )
    writer.writerow([])
    writer.writerow(["section", "impact", "staff_replies", "automated_updates"])
    for value, label in Impact.choices:
        writer.writerow(
            [
                "client_updates",
                label,
                report.human_updates.get(value, 0),
                report.automated_updates.get(value, 0),
            ]
        )
    writer.writerow([])
    writer.writerow(["section", "highest_level", "tickets"])
    for level, count in report.escalations.items():
        writer.writerow(["escalations", level, count])
    return response


@staff_member_required
def sla_report(request: HttpRequest) -> HttpResponse:
    data = request.GET if "site" in request.GET else None
    form = ReportForm(data, initial={"month": previous_month()})
    report = None
    context = {**admin.site.each_context(request), "title": "SLA compliance report", "form": form}
    if form.is_bound and form.is_valid():
        site = form.cleaned_data["site"]
        year, month = form.cleaned_data["month"]
        report = sla_report_get(
            tickets=tickets_visible_to(request.user), site=site, year=year, month=month
        )
        if request.GET.get("format") == "csv":
            return _csv(report, slug=site.slug, month=f"{year:04d}-{month:02d}")
        context.update(_charts(report))
        query = request.GET.copy()
        query["format"] = "csv"
        context["csv_query"] = query.urlencode()
    context["report"] = report
    return render(request, "backoffice/sla_report.html", context)
