import datetime

import pytest
import time_machine
from django.urls import reverse

from sla.models import SLAPolicy
from tests.brokers import broker_at, unreachable_broker_url
from tests.sla.conftest import MONDAY
from tests.sla.helpers import file_ticket, fresh
from tests.tickets.factories import StaffFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def high_policy_post(client, policy, *, first_response_hours: str):
    """Save the high-incident policy's admin form with a new first-response time."""
    return client.post(
        reverse("admin:sla_slapolicy_change", args=[policy.pk]),
        {
            "kind": "incident",
            "impact": "high",
            "first_response_hours": first_response_hours,
            "update_every_hours": "1",
            "at_risk_percent": 75,
            "update_warning_minutes": 15,
            "calendar": "",
        },
    )


def test_policies_are_listed_and_edited_in_hours(client):
    client.force_login(SuperuserFactory())
    policy = SLAPolicy.objects.get(kind="incident", impact="high")
    listing = client.get(reverse("admin:sla_slapolicy_changelist")).content.decode()
    assert "16 h" in listing and "1 h" in listing
    url = reverse("admin:sla_slapolicy_change", args=[policy.pk])
    page = client.get(url)
    assert page.context["adminform"].form.initial["first_response_hours"] == 1
    response = client.post(
        url,
        {
            "kind": "incident",
            "impact": "high",
            "first_response_hours": "1.5",
            "update_every_hours": "2",
            "at_risk_percent": 80,
            "update_warning_minutes": 15,
            "calendar": "",
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.first_response_minutes, policy.update_every_minutes) == (90, 120)


def test_staff_may_read_policies_but_not_change_them_without_the_permission(client):
    client.force_login(StaffFactory())
    policy = SLAPolicy.objects.first()
    assert policy is not None
    assert client.get(reverse("admin:sla_slapolicy_changelist")).status_code == 200
    url = reverse("admin:sla_slapolicy_change", args=[policy.pk])
    response = client.post(url, {"kind": policy.kind, "first_response_hours": "99"})
    assert response.status_code == 403


def test_editing_a_policy_in_admin_moves_the_open_tickets_it_governs(
    client, site, pm, django_capture_on_commit_callbacks
):
    import datetime

    import time_machine

    from tests.sla.conftest import MONDAY
    from tests.sla.helpers import file_ticket, fresh

    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    assert ticket.response_due_at == MONDAY + datetime.timedelta(hours=1)
    policy = SLAPolicy.objects.get(kind="incident", impact="high")
    client.force_login(SuperuserFactory())
    with (
        time_machine.travel(MONDAY + datetime.timedelta(minutes=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = high_policy_post(client, policy, first_response_hours="0.5")
    assert response.status_code == 302
    assert fresh(ticket).response_due_at == MONDAY + datetime.timedelta(minutes=30)


def test_editing_a_calendars_hours_in_admin_moves_the_tickets_counted_in_it(
    client, site, pm, django_capture_on_commit_callbacks
):
    import datetime

    import time_machine

    from sla.models import BusinessCalendar
    from tests.sla.conftest import MONDAY
    from tests.sla.helpers import file_ticket, fresh

    calendar = BusinessCalendar.objects.create(name="Always", timezone="UTC")
    for weekday in range(7):
        calendar.periods.create(
            weekday=weekday, start=datetime.time(0, 0), end=datetime.time(23, 59)
        )
    SLAPolicy.objects.filter(kind="general").update(calendar=calendar)
    ticket = file_ticket(actor=pm, site=site, kind="general", impact="", at=MONDAY)
    before = fresh(ticket).response_due_at

    periods = list(calendar.periods.order_by("weekday"))
    data: dict[str, str | int] = {
        "name": "Always",
        "timezone": "UTC",
        "description": "",
        "periods-TOTAL_FORMS": "7",
        "periods-INITIAL_FORMS": "7",
        "periods-MIN_NUM_FORMS": "0",
        "periods-MAX_NUM_FORMS": "1000",
        "holidays-TOTAL_FORMS": "0",
        "holidays-INITIAL_FORMS": "0",
        "holidays-MIN_NUM_FORMS": "0",
        "holidays-MAX_NUM_FORMS": "1000",
    }
    for i, period in enumerate(periods):
        data |= {
            f"periods-{i}-id": period.pk,
            f"periods-{i}-calendar": calendar.pk,
            f"periods-{i}-weekday": period.weekday,
            # Monday's hours now start at 16:00 UTC: two hours after the ticket was filed.
            f"periods-{i}-start": "16:00" if period.weekday == 0 else "00:00",
            f"periods-{i}-end": "23:59",
        }
    client.force_login(SuperuserFactory())
    with (
        time_machine.travel(MONDAY + datetime.timedelta(minutes=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("admin:sla_businesscalendar_change", args=[calendar.pk]), data
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert before == MONDAY + datetime.timedelta(hours=8)
    # 16:00 to 23:59 counts 7 h 59 min; the last minute falls on Tuesday from 00:00.
    assert fresh(ticket).response_due_at == datetime.datetime(
        2026, 11, 24, 0, 1, tzinfo=datetime.UTC
    )


def test_editing_a_policy_while_the_broker_is_down_still_moves_the_open_tickets(
    client, site, pm, django_capture_on_commit_callbacks, caplog
):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    client.force_login(SuperuserFactory())
    policy = SLAPolicy.objects.get(kind="incident", impact="high")
    with (
        broker_at(unreachable_broker_url()),
        time_machine.travel(MONDAY + datetime.timedelta(minutes=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = high_policy_post(client, policy, first_response_hours="2")
    assert response.status_code == 302
    assert fresh(ticket).response_due_at == MONDAY + datetime.timedelta(hours=2)
    assert "Broker unreachable: task sla.tasks.sla_policy_retarget not queued" in caplog.text
