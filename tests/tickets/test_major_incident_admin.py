"""The back office for major incidents: declare, link from the queue, post one update, watch
each linked ticket's SLA, resolve."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from tests.tickets.factories import ClientSiteFactory, MembershipFactory, StaffFactory
from tests.tickets.helpers import file_incident
from tickets import major_incidents as mi
from tickets.models import MajorIncident, Notification, Role, Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 23, 14, 0, tzinfo=datetime.UTC)


@pytest.fixture
def staff(client):
    agent = StaffFactory()
    client.force_login(agent)
    return agent


@pytest.fixture
def outage():
    north = ClientSiteFactory(name="North General", slug="north")
    south = ClientSiteFactory(name="South General", slug="south")
    tickets = []
    for site in (north, south):
        pm = MembershipFactory(site=site, role=Role.PM, user__email=f"pm@{site.slug}.example").user
        tickets.append(file_incident(site=site, reporter=pm, when=T0))
    return (north, south), tickets


def change_page_data(client, incident, **fields):
    page = client.get(reverse("admin:tickets_majorincident_change", args=[incident.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name in ("title", "summary", "impact", "status", "lead"):
        value = form.initial.get(name)
        data[name] = "" if value is None else value
    if form.initial.get("all_sites"):
        data["all_sites"] = "on"
    data["sites"] = [s.pk for s in form.initial.get("sites") or []]
    data.update(fields)
    return data


def test_declare_link_from_the_queue_post_and_see_each_sla(client, staff, outage):
    sites, tickets = outage
    with time_machine.travel(T0 + datetime.timedelta(minutes=10), tick=False):
        response = client.post(
            reverse("admin:tickets_majorincident_add"),
            {
                "title": "EHR gateway outage",
                "summary": "Orders fail.",
                "impact": "high",
                "sites": [s.pk for s in sites],
                "lead": staff.pk,
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        incident = MajorIncident.objects.get()
        response = client.post(
            reverse("admin:tickets_ticket_changelist"),
            {
                "action": "link_to_major_incident",
                "_selected_action": [t.pk for t in tickets],
                "major_incident": incident.pk,
                "index": 0,
            },
            follow=True,
        )
        assert "Linked 2 ticket(s)" in response.content.decode()
    with time_machine.travel(T0 + datetime.timedelta(minutes=30), tick=False):
        url = reverse("admin:tickets_majorincident_change", args=[incident.pk])
        data = change_page_data(client, incident, update="Failing over now.")
        response = client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        for ticket in tickets:
            ticket = Ticket.objects.get(pk=ticket.pk)
            assert ticket.responded_at == T0 + datetime.timedelta(minutes=30)
            assert ticket.status == Status.IN_PROGRESS
        assert Notification.objects.filter(event="major_incident_update").count() == 2
        html = client.get(url).content.decode()
    assert "North General" in html and "South General" in html
    assert html.count('class="sla-badge sla-met"') == 2
    assert "Failing over now." in html
    ticket_page = client.get(reverse("admin:tickets_ticket_change", args=[tickets[0].pk]))
    assert "EHR gateway outage" in ticket_page.content.decode()


def test_resolving_in_admin_resolves_every_linked_ticket(client, staff, outage):
    sites, tickets = outage
    incident = mi.major_incident_create(actor=staff, title="Outage", sites=sites)
    mi.major_incident_link(major_incident=incident, tickets=tickets, actor=staff)
    url = reverse("admin:tickets_majorincident_change", args=[incident.pk])
    response = client.post(
        url, change_page_data(client, incident, status="resolved", resolution="All back.")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(Ticket.objects.values_list("status", flat=True)) == {Status.RESOLVED}
    assert client.get(url).status_code == 200


def test_linking_another_sites_ticket_is_refused_in_the_queue(client, staff, outage):
    sites, tickets = outage
    incident = mi.major_incident_create(actor=staff, title="North only", sites=[sites[0]])
    response = client.post(
        reverse("admin:tickets_ticket_changelist"),
        {
            "action": "link_to_major_incident",
            "_selected_action": [tickets[1].pk],
            "major_incident": incident.pk,
            "index": 0,
        },
        follow=True,
    )
    assert "does not affect" in response.content.decode()
    assert not TicketEvent.objects.filter(action=TicketEvent.Action.LINKED).exists()


def test_open_missing_tickets_action_files_for_a_site_that_has_not(client, staff, outage):
    _, tickets = outage
    third = ClientSiteFactory(name="East General", slug="east")
    MembershipFactory(site=third, role=Role.PM, user__email="pm@east.example")
    incident = mi.major_incident_create(actor=staff, title="Outage", all_sites=True)
    mi.major_incident_link(major_incident=incident, tickets=tickets, actor=staff)
    response = client.post(
        reverse("admin:tickets_majorincident_changelist"),
        {"action": "open_missing_tickets", "_selected_action": [incident.pk], "index": 0},
        follow=True,
    )
    assert "opened 1 ticket(s)" in response.content.decode()
    assert Ticket.objects.get(site=third).major_incident_id == incident.pk


def test_major_incident_times_read_in_the_agents_zone(client, staff, outage):
    """The major incident's own times follow the agent's chosen zone (it spans sites), one
    clock face with the zone shown, never the server's UTC."""
    from tickets.services import user_timezone_set

    sites, tickets = outage
    with time_machine.travel(T0 + datetime.timedelta(minutes=10), tick=False):
        incident = mi.major_incident_create(actor=staff, title="EHR gateway outage", sites=sites)
        mi.major_incident_link(major_incident=incident, tickets=tickets, actor=staff)
        mi.major_incident_update_post(major_incident=incident, author=staff, body="Failing over.")
    user_timezone_set(user=staff, timezone_name="Asia/Tokyo")

    page = client.get(reverse("admin:tickets_majorincident_change", args=[incident.pk]))
    listing = client.get(reverse("admin:tickets_majorincident_changelist"))

    html = page.content.decode()
    # 14:10 UTC on 23 Nov is 23:10 in Tokyo; the next update (1 h cadence) is due 00:10 there.
    assert "Mon 23 Nov 2026, 23:10 JST" in html
    assert "Tue 24 Nov 2026, 00:10 JST" in html
    assert "Mon 23 Nov 2026, 23:10 JST" in listing.content.decode()
    assert "UTC" not in html.split('id="content"', 1)[-1]
