"""What clients see of a major incident: a banner on their dashboard and the updates in their
own ticket's thread; never which other sites are affected or their tickets."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from tests.tickets.factories import ClientSiteFactory, StaffFactory
from tests.tickets.helpers import file_incident
from tickets import major_incidents as mi
from tickets.models import Role

from .helpers import member

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 23, 14, 0, tzinfo=datetime.UTC)


@pytest.fixture
def outage(site, other_site, pm, outsider):
    with time_machine.travel(T0, tick=False):
        agent = StaffFactory()
        mine = file_incident(site=site, reporter=pm, title="Mercy cannot admit")
        theirs = file_incident(site=other_site, reporter=outsider, title="Elsewhere pharmacy down")
        incident = mi.major_incident_create(
            actor=agent,
            title="EHR gateway outage",
            summary="Orders and admissions fail.",
            sites=[site, other_site],
        )
        mi.major_incident_link(major_incident=incident, tickets=[mine, theirs], actor=agent)
    with time_machine.travel(T0 + datetime.timedelta(minutes=30), tick=False):
        mi.major_incident_update_post(
            major_incident=incident, author=agent, body="Failover to the standby gateway."
        )
        mi.major_incident_update_post(
            major_incident=incident, author=agent, body="Vendor ticket 77 opened", public=False
        )
    return incident, mine, theirs


def test_each_sites_dashboard_shows_the_banner_without_the_other_sites(client, outage, pm):
    _, mine, theirs = outage
    client.force_login(pm)
    with time_machine.travel(T0 + datetime.timedelta(minutes=35), tick=False):
        html = client.get(reverse("dashboard")).content.decode()
    assert "Major incident: EHR gateway outage" in html
    assert "Investigating" in html
    assert "Failover to the standby gateway." in html
    # Mercy is in New York: the update at 14:30 UTC and the next due an hour later.
    assert "Mon 23 Nov 2026, 09:30 EST" in html
    assert "Next update due</strong> Mon 23 Nov 2026, 10:30 EST" in html
    assert mine.reference in html
    assert theirs.reference not in html
    assert "Elsewhere" not in html and "elsewhere" not in html
    assert "Vendor ticket 77" not in html


def test_the_linked_ticket_thread_shows_the_public_update_only(client, outage, pm, outsider):
    _, mine, theirs = outage
    client.force_login(pm)
    html = client.get(reverse("ticket-detail", args=[mine.reference])).content.decode()
    assert "Failover to the standby gateway." in html
    assert "Vendor ticket 77" not in html
    assert "Elsewhere" not in html
    assert client.get(reverse("ticket-detail", args=[theirs.reference])).status_code == 404


def test_a_site_outside_the_major_incident_sees_no_banner(client, outage):
    unaffected = ClientSiteFactory(name="Far Away", slug="far")
    client.force_login(member(unaffected, Role.PM, username="fay", email="fay@far.example"))
    html = client.get(reverse("dashboard")).content.decode()
    assert "Major incident" not in html


def test_the_banner_goes_once_the_major_incident_is_resolved(client, outage, pm):
    incident, _, _ = outage
    mi.major_incident_resolve(major_incident=incident, actor=incident.lead, body="Back.")
    client.force_login(pm)
    assert "Major incident" not in client.get(reverse("dashboard")).content.decode()


def test_the_banner_costs_the_same_queries_for_more_incidents_and_tickets(client, site, pm):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent = StaffFactory()
    client.force_login(pm)

    def declare_with(count):
        incident = mi.major_incident_create(actor=agent, title="Outage", sites=[site])
        tickets = [file_incident(site=site, reporter=pm) for _ in range(count)]
        mi.major_incident_link(major_incident=incident, tickets=tickets, actor=agent)
        mi.major_incident_update_post(major_incident=incident, author=agent, body="Update.")
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(captured)

    assert declare_with(1) == declare_with(4)
