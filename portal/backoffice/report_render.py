"""The monthly SLA report's output: SVG charts for the page and the CSV download. Shared by the
staff report and the site project managers' report in the portal."""

import csv

from django.http import HttpResponse

from sla.report import SLAReport
from tickets.models import Impact

from .charts import Segment, legend_html, stacked_bars_svg

RESPONSE_SEGMENTS = [
    Segment(0, "bar-met", "Met"),
    Segment(0, "bar-missed", "Missed"),
    Segment(0, "bar-pending", "No response yet"),
]
UPDATE_SEGMENTS = [Segment(0, "bar-human", "Staff replies"), Segment(0, "bar-auto", "Automated")]


def report_charts(report: SLAReport) -> dict:
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


def report_csv(report: SLAReport, *, slug: str, month: str) -> HttpResponse:
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
    writer.writerow(
        [
            "client_updates",
            "on_time_percent",
            "" if report.updates_on_time_percent is None else report.updates_on_time_percent,
        ]
    )
    writer.writerow([])
    writer.writerow(["section", "highest_level", "tickets"])
    for level, count in report.escalations.items():
        writer.writerow(["escalations", level, count])
    writer.writerow([])
    writer.writerow(["section", "good", "bad", "good_percent"])
    good_percent = report.ratings.good_percent
    writer.writerow(
        [
            "ratings",
            report.ratings.good,
            report.ratings.bad,
            "" if good_percent is None else good_percent,
        ]
    )
    return response
