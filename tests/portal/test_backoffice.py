"""The staff dashboard and the monthly SLA compliance report."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.backoffice.formatting import duration_short, sla_phrase
from sla.models import ScanRun
from tests.tickets.factories import (
    ClientSiteFactory,
    CommentFactory,
    StaffFactory,
    TicketFactory,
    UserFactory,
)
from tickets.models import Comment, Kind, Notification, SLAState, Status, Ticket

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0 min"), (12, "12 min"), (59, "59 min"), (65, "1 h 05 min"), (24 * 60 + 61, "1 d 1 h")],
)
def test_durations_read_as_staff_say_them(minutes, text):
    assert duration_short(timedelta(minutes=minutes, seconds=30)) == text


def test_sla_phrase_says_breaches_in_before_and_overdue_after_the_target():
    due = NOW + timedelta(minutes=12)
    assert sla_phrase(state="at_risk", due_at=due, now=NOW) == "breaches in 12 min"
    assert sla_phrase(state="breached", due_at=due, now=due + timedelta(minutes=65)) == (
        "overdue 1 h 05 min"
    )
    # The badge already says "Met" or "Paused": no "Met met", and no countdown while paused.
    assert sla_phrase(state="met", due_at=None, now=NOW) == ""
    assert sla_phrase(state="paused", due_at=due, now=NOW) == ""


def test_sla_phrase_after_the_first_response_speaks_of_the_next_client_update():
    due = NOW + timedelta(minutes=59)
    assert sla_phrase(state="met", due_at=due, now=NOW) == "next update due in 59 min"
    assert sla_phrase(state="met", due_at=due, now=due + timedelta(minutes=3)) == (
        "update overdue 3 min"
    )


# Dashboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


def test_dashboard_counts_open_tickets_by_state_and_lists_the_next_to_breach(staff_client):
    with time_machine.travel(NOW, tick=False):
        TicketFactory(kind=Kind.INCIDENT, impact="high", sla_state=SLAState.AT_RISK,
                      response_due_at=NOW + timedelta(minutes=20))  # fmt: skip
        first = TicketFactory(response_due_at=NOW + timedelta(minutes=5))
        TicketFactory(
            sla_state=SLAState.BREACHED,
            response_due_at=NOW - timedelta(hours=2),
            response_breached_at=NOW - timedelta(hours=2),
        )
        TicketFactory(status=Status.CLOSED, response_due_at=NOW + timedelta(minutes=1))
        TicketFactory(
            status=Status.RESOLVED,
            response_breached_at=datetime(2026, 11, 24, 23, 0, tzinfo=UTC),
        )
        ScanRun.objects.create(
            started_at=NOW - timedelta(seconds=50),
            finished_at=NOW - timedelta(seconds=49),
            counts={"breaches": 1, "client_updates": 2},
        )
        response = staff_client.get(reverse("backoffice:dashboard"))
    assert response.status_code == 200
    data = response.context["data"]
    assert data.open_total == 3
    assert data.open_by_state[SLAState.AT_RISK] == {"high": 1}
    assert data.open_by_state[SLAState.ON_TRACK] == {"": 1}
    assert data.next_to_breach[0] == first
    assert len(data.next_to_breach) == 2  # the overdue and closed tickets are not "next"
    assert data.overdue_now == 1
    assert data.breaches_today == 1  # yesterday's breach is not today's
    text = response.content.decode()
    assert "breaches in 5 min" in text
    assert "client_updates 2" in text
    assert "Check that the worker and beat are running" not in text


def test_dashboard_warns_when_the_last_scan_is_older_than_three_minutes(staff_client):
    with time_machine.travel(NOW, tick=False):
        ScanRun.objects.create(
            started_at=NOW - timedelta(minutes=4), finished_at=NOW - timedelta(minutes=4)
        )
        text = staff_client.get(reverse("backoffice:dashboard")).content.decode()
    assert "The last SLA scan ran 4 min ago" in text
    assert "check that the worker and beat are running" in text


def test_dashboard_warns_when_no_scan_ever_ran(staff_client):
    text = staff_client.get(reverse("backoffice:dashboard")).content.decode()
    assert "No SLA scan has run yet" in text


def _bulk_tickets(count: int, site, tag: str) -> None:
    reporter, agent = UserFactory(), StaffFactory()
    Ticket.objects.bulk_create(
        Ticket(
            reference=f"RX-{tag}-{i}",
            site=site,
            reporter=reporter,
            assignee=agent,
            kind=Kind.INCIDENT,
            impact=("high", "medium", "low")[i % 3],
            sla_state=(SLAState.ON_TRACK, SLAState.AT_RISK)[i % 2],
            title=f"Outage {i}",
            description="-",
            response_due_at=NOW + timedelta(minutes=i + 1),
            responded_at=NOW if i % 4 == 0 else None,
            response_breached_at=NOW if i % 5 == 0 else None,
            escalation_level=1 + i % 4,
        )
        for i in range(count)
    )


def _count_queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_dashboard_query_count_does_not_grow_with_the_tickets(staff_client):
    site = ClientSiteFactory()
    url = reverse("backoffice:dashboard")
    with time_machine.travel(NOW, tick=False):
        _bulk_tickets(10, site, "a")
        small = _count_queries(staff_client, url)
        _bulk_tickets(500, site, "b")
        assert _count_queries(staff_client, url) == small


# The monthly report. October 2026 at a New York site: local midnight is 04:00 UTC.


def _ticket(site, kind, created, *, impact="", responded=None, breached=None, due=None, level=1):
    ticket = TicketFactory(
        site=site,
        kind=kind,
        impact=impact,
        response_due_at=due,
        responded_at=responded,
        response_breached_at=breached,
        escalation_level=level,
    )
    Ticket.objects.filter(pk=ticket.pk).update(created_at=created)
    return ticket


def _at(day: int, hour: int = 12, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def _reply(ticket, when, *, public=True, by_staff=True):
    comment = CommentFactory(ticket=ticket, public=public, by_staff=by_staff)
    Comment.objects.filter(pk=comment.pk).update(created_at=when)


def _update(ticket, when, sequence, recipients):
    for recipient in recipients:
        n = Notification.objects.create(
            ticket=ticket, event="client_update", sequence=sequence, recipient=recipient
        )
        Notification.objects.filter(pk=n.pk).update(created_at=when)


@pytest.fixture
def october(db):
    """A hand-made month. Times to first response (minutes): general 120, 600, 240;
    task 60; high incidents 30 and 90."""
    site = ClientSiteFactory(timezone="America/New_York")
    h, m = timedelta(hours=1), timedelta(minutes=1)
    _ticket(site, "general", _at(5), due=_at(5) + 8 * h, responded=_at(5) + 2 * h)  # met
    _ticket(site, "general", _at(6), due=_at(6) + 8 * h, responded=_at(6) + 10 * h,
            breached=_at(6) + 8 * h)  # missed  # fmt: skip
    _ticket(site, "task", _at(7), due=_at(7) + 8 * h, responded=_at(7) + h)  # met
    d = _ticket(site, "incident", _at(8), impact="high", due=_at(8) + h, responded=_at(8) + 30 * m)
    e = _ticket(site, "incident", _at(9), impact="high", due=_at(9) + h, breached=_at(9) + h,
                level=3)  # missed, never answered  # fmt: skip
    f = _ticket(site, "incident", _at(9, 14), impact="high", due=_at(9, 15),
                responded=_at(9, 15) + 30 * m, breached=_at(9, 15), level=2)  # fmt: skip
    g = _ticket(site, "incident", _at(10), impact="medium", due=_at(10) + 8 * h)  # pending
    # 31 October, 22:00 in New York: still October for the site.
    _ticket(site, "general", _at(1, 2, month=11), due=_at(1, 10, month=11),
            responded=_at(1, 6, month=11))  # met, 240 min  # fmt: skip
    # 30 September, 22:00 in New York: not October.
    _ticket(site, "general", _at(1, 2), due=_at(1, 10), responded=_at(1, 3))
    # Another site's ticket never counts.
    _ticket(ClientSiteFactory(), "general", _at(5), due=_at(5) + 8 * h, responded=_at(5) + h)

    _reply(d, _at(8, 13))  # human update on a high incident
    _reply(f, _at(9, 16))  # human update on a high incident
    _reply(d, _at(8, 14), public=False)  # internal note: not an update
    _reply(g, _at(10, 13), by_staff=False)  # the client's own comment: not an update
    _reply(TicketFactory(site=site), _at(11))  # a reply on a general request: not an update
    _update(e, _at(9, 14), 1, ["pm@h.example", "it@h.example"])  # one update, two recipients
    _update(e, _at(9, 15), 2, ["pm@h.example", "it@h.example"])
    _update(g, _at(10, 20), 1, ["pm@h.example"])
    _update(g, _at(5, 12, month=11), 2, ["pm@h.example"])  # November
    return site


def test_monthly_report_figures_match_the_hand_made_month(staff_client, october):
    response = staff_client.get(
        reverse("backoffice:sla-report"), {"site": october.slug, "month": "2026-10"}
    )
    assert response.status_code == 200
    report = response.context["report"]
    rows = {(r.kind, r.impact): r for r in report.rows}
    minutes = timedelta(minutes=1)

    general = rows[("general", "")]
    assert (general.total, general.met, general.missed, general.pending) == (3, 2, 1, 0)
    assert general.median == 240 * minutes
    assert general.p90 == 528 * minutes  # 240 + 0.8 * (600 - 240)
    task = rows[("task", "")]
    assert (task.total, task.met, task.median) == (1, 1, 60 * minutes)
    assert rows[("change", "")].total == 0
    high = rows[("incident", "high")]
    assert (high.total, high.met, high.missed, high.pending) == (3, 1, 2, 0)
    assert (high.median, high.p90) == (60 * minutes, 84 * minutes)
    medium = rows[("incident", "medium")]
    assert (medium.total, medium.pending, medium.median) == (1, 1, None)

    overall = report.overall
    assert (overall.total, overall.met, overall.missed, overall.pending) == (8, 4, 3, 1)
    assert overall.met_percent == round(100 * 4 / 7, 1)
    # Response times 30, 60, 90, 120, 240, 600 min.
    assert overall.median == 105 * minutes
    assert overall.p90 == 420 * minutes

    assert report.human_updates == {"high": 2}
    assert report.automated_updates == {"high": 2, "medium": 1}
    assert report.updates_on_time_percent == 40.0  # 2 staff replies of 5 update cycles
    assert report.escalations == {1: 6, 2: 1, 3: 1, 4: 0}
    text = response.content.decode()
    assert "Updates on time:</strong> 40.0% (2 of 5 update cycles" in text
    assert "<svg" in text and "First responses" in text


def test_monthly_report_downloads_as_csv(staff_client, october):
    response = staff_client.get(
        reverse("backoffice:sla-report"),
        {"site": october.slug, "month": "2026-10", "format": "csv"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"sla-{october.slug}-2026-10.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["first_response", "All tickets", "8", "4", "3", "1", "57.1", "105.0", "420.0"] in rows
    assert ["client_updates", "High", "2", "2"] in rows
    assert ["client_updates", "on_time_percent", "40.0"] in rows
    assert ["escalations", "3", "1"] in rows


def test_report_with_a_bad_month_shows_a_form_error(staff_client):
    site = ClientSiteFactory()
    for month in ("2026-13", "October", "2026-1'--", "1999-12"):
        response = staff_client.get(
            reverse("backoffice:sla-report"), {"site": site.slug, "month": month}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["month"]
        assert response.context["report"] is None
    assert "Give the month as YYYY-MM" in response.content.decode()
    response = staff_client.get(
        reverse("backoffice:sla-report"), {"site": "no-such-site", "month": "2026-10"}
    )
    assert response.status_code == 200
    assert response.context["report"] is None


def test_report_query_count_is_bounded_for_a_site_with_many_tickets(staff_client):
    site = ClientSiteFactory()
    url = reverse("backoffice:sla-report") + f"?site={site.slug}&month=2026-11"
    with time_machine.travel(NOW, tick=False):
        _bulk_tickets(5, site, "a")
        small = _count_queries(staff_client, url)
        _bulk_tickets(2000, site, "b")
        assert _count_queries(staff_client, url) == small


@pytest.mark.postgres
def test_report_for_a_site_with_50000_tickets_renders_in_one_request_with_bounded_queries(
    staff_client,
):
    site = ClientSiteFactory()
    url = reverse("backoffice:sla-report") + f"?site={site.slug}&month=2026-11"
    with time_machine.travel(NOW, tick=False):
        _bulk_tickets(5, site, "a")
        small = _count_queries(staff_client, url)
        for chunk in range(10):
            _bulk_tickets(5000, site, f"b{chunk}")
        assert Ticket.objects.filter(site=site).count() == 50_005
        with CaptureQueriesContext(connection) as captured:
            response = staff_client.get(url)
    assert response.status_code == 200
    assert response.context["report"].overall.total == 50_005
    assert len(captured) == small


def test_dashboard_counts_link_to_the_matching_tickets_in_the_queue(staff_client):
    high = TicketFactory(kind=Kind.INCIDENT, impact="high", sla_state=SLAState.AT_RISK)
    TicketFactory(kind=Kind.INCIDENT, impact="low", sla_state=SLAState.AT_RISK)
    TicketFactory(kind=Kind.INCIDENT, impact="high", sla_state=SLAState.AT_RISK,
                  status=Status.CLOSED)  # fmt: skip
    response = staff_client.get(reverse("backoffice:dashboard"))
    cell = response.context["grid"][1]["cells"][0]  # at risk, high impact
    assert cell["count"] == 1
    queue = staff_client.get(reverse("admin:tickets_ticket_changelist") + "?" + cell["query"])
    assert list(queue.context["cl"].result_list) == [high]


# The same report for a site's project managers, in the portal


def _member(site, role):
    from tests.tickets.factories import MembershipFactory

    return MembershipFactory(site=site, role=role).user


def test_site_pm_sees_the_report_of_their_own_site(client, october):
    client.force_login(_member(october, "pm"))
    url = reverse("site-sla-report", args=[october.slug])
    response = client.get(url, {"month": "2026-10"})
    assert response.status_code == 200
    assert response.context["report"].overall.total == 8
    assert "<svg" in response.content.decode()
    csv_response = client.get(url, {"month": "2026-10", "format": "csv"})
    assert csv_response["Content-Type"].startswith("text/csv")


def test_report_pages_open_on_the_current_month_so_far(client, staff_client, october):
    with time_machine.travel(datetime(2026, 10, 31, 20, 0, tzinfo=UTC), tick=False):
        staff = staff_client.get(reverse("backoffice:sla-report"))
        client.force_login(_member(october, "pm"))
        portal = client.get(reverse("site-sla-report", args=[october.slug]))
    assert staff.context["report"].overall.total == 8
    assert portal.context["report"].overall.total == 8


def test_site_report_is_refused_to_other_roles_and_hidden_from_other_sites(client, october):
    url = reverse("site-sla-report", args=[october.slug])
    for role in ("it", "viewer"):
        client.force_login(_member(october, role))
        assert client.get(url, {"month": "2026-10"}).status_code == 403
    client.force_login(_member(ClientSiteFactory(), "pm"))
    assert client.get(url, {"month": "2026-10"}).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_site_report_with_a_bad_month_shows_the_error(client, october):
    client.force_login(_member(october, "pm"))
    response = client.get(reverse("site-sla-report", args=[october.slug]), {"month": "13/2026"})
    assert response.status_code == 200
    assert response.context["report"] is None
    assert "Give the month as YYYY-MM" in response.content.decode()


def test_a_month_without_tickets_says_so_and_pms_find_the_report_in_the_navigation(client, october):
    with time_machine.travel(datetime(2027, 3, 5, 12, 0, tzinfo=UTC), tick=False):
        client.force_login(_member(october, "pm"))
        dashboard = client.get(reverse("dashboard")).content.decode()
        page = client.get(reverse("site-sla-report", args=[october.slug])).content.decode()
    assert reverse("site-sla-report", args=[october.slug]) in dashboard
    assert "March 2027" in page
    assert "nothing to measure yet" in page
