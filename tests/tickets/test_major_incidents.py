"""Major incidents: one update for many sites, each site's clocks its own."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla.scan import sla_scan_run
from tests.tickets.factories import ClientSiteFactory, MembershipFactory, StaffFactory
from tests.tickets.helpers import file_incident as incident_filed
from tickets import major_incidents as mi
from tickets import services
from tickets.errors import Conflict, DomainError, NotAllowed
from tickets.models import (
    Comment,
    MajorIncident,
    Notification,
    Role,
    SLAState,
    Status,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 23, 14, 0, tzinfo=datetime.UTC)
UPDATE = Notification.Event.MAJOR_INCIDENT_UPDATE


def at(when, fn, **kwargs):
    with time_machine.travel(when, tick=False):
        return fn(**kwargs)


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def agent():
    return StaffFactory(email="agent@rxhealth.example")


@pytest.fixture
def sites():
    north = ClientSiteFactory(name="North General", slug="north")
    south = ClientSiteFactory(name="South General", slug="south")
    return north, south


@pytest.fixture
def pms(sites):
    north, south = sites
    return (
        MembershipFactory(site=north, role=Role.PM, user__email="pm@north.example").user,
        MembershipFactory(site=south, role=Role.PM, user__email="pm@south.example").user,
    )


def file_incident(*, site, reporter, when=T0, title="Platform down"):
    return incident_filed(site=site, reporter=reporter, when=when, title=title)


@pytest.fixture
def declared(agent, sites, pms):
    north, south = sites
    tickets = [
        file_incident(site=north, reporter=pms[0]),
        file_incident(site=north, reporter=pms[0], title="Orders fail"),
        file_incident(site=south, reporter=pms[1], when=T0 + datetime.timedelta(minutes=20)),
    ]
    incident = at(
        T0 + datetime.timedelta(minutes=25),
        mi.major_incident_create,
        actor=agent,
        title="Platform outage",
        summary="The EHR gateway is down.",
        sites=[north, south],
    )
    at(
        T0 + datetime.timedelta(minutes=25),
        mi.major_incident_link,
        major_incident=incident,
        tickets=tickets,
        actor=agent,
    )
    return incident, tickets


def post(incident, agent, when, body="We are restoring the gateway.", **kwargs):
    return at(
        when,
        mi.major_incident_update_post,
        major_incident=incident,
        author=agent,
        body=body,
        **kwargs,
    )


def test_linking_moves_no_due_time_and_is_in_each_history(declared):
    incident, tickets = declared
    for ticket in tickets:
        ticket = fresh(ticket)
        assert ticket.major_incident_id == incident.pk
        assert ticket.response_due_at == ticket.created_at + datetime.timedelta(hours=1)
        assert ticket.events.filter(action=TicketEvent.Action.LINKED).count() == 1


def test_a_ticket_belongs_to_one_major_incident_only(declared, agent, sites):
    _, tickets = declared
    other = mi.major_incident_create(actor=agent, title="Another", all_sites=True)
    with pytest.raises(Conflict):
        mi.major_incident_link(major_incident=other, tickets=[tickets[0]], actor=agent)


def test_only_open_incidents_of_affected_sites_can_be_linked(agent, sites, pms):
    north, _ = sites
    elsewhere = ClientSiteFactory(slug="elsewhere")
    pm = MembershipFactory(site=elsewhere, role=Role.PM).user
    foreign = file_incident(site=elsewhere, reporter=pm)
    request = services.ticket_create(
        actor=pms[0], site=north, kind="general", title="Q", description="?"
    )
    incident = mi.major_incident_create(actor=agent, title="Outage", sites=[north])
    with pytest.raises(DomainError):
        mi.major_incident_link(major_incident=incident, tickets=[foreign], actor=agent)
    with pytest.raises(DomainError):
        mi.major_incident_link(major_incident=incident, tickets=[request], actor=agent)


def test_site_contacts_cannot_declare(pms):
    with pytest.raises(NotAllowed):
        mi.major_incident_create(actor=pms[0], title="Outage", all_sites=True)


def test_broadcast_meets_each_first_response_and_restarts_each_cadence(declared, agent):
    incident, tickets = declared
    when = T0 + datetime.timedelta(minutes=30)
    update = post(incident, agent, when)
    assert update.ticket_count == 3
    for ticket in map(fresh, tickets):
        assert ticket.responded_at == when
        assert ticket.sla_state == SLAState.MET
        assert ticket.status == Status.IN_PROGRESS
        assert ticket.next_update_due_at == when + datetime.timedelta(hours=1)
        reply = Comment.objects.get(ticket=ticket)
        assert reply.public and reply.by_staff and reply.body == "We are restoring the gateway."


def test_each_site_cadence_restarts_from_its_own_policy(agent, sites, pms):
    north, south = sites
    high = file_incident(site=north, reporter=pms[0])
    medium = incident_filed(site=south, reporter=pms[1], impact="medium", when=T0)
    incident = mi.major_incident_create(actor=agent, title="Outage", sites=[north, south])
    mi.major_incident_link(major_incident=incident, tickets=[high, medium], actor=agent)
    when = T0 + datetime.timedelta(minutes=30)
    post(incident, agent, when)
    assert fresh(high).next_update_due_at == when + datetime.timedelta(hours=1)
    assert fresh(medium).next_update_due_at == when + datetime.timedelta(hours=8)


def test_each_person_hears_once_per_update_even_for_two_linked_tickets(declared, agent):
    incident, tickets = declared
    update = post(incident, agent, T0 + datetime.timedelta(minutes=30))
    rows = Notification.objects.filter(event=UPDATE, sequence=update.pk)
    assert sorted(rows.values_list("recipient", flat=True)) == [
        "pm@north.example",
        "pm@south.example",
    ]
    north_email = rows.get(recipient="pm@north.example")
    assert tickets[0].reference in north_email.body_text
    assert tickets[1].reference in north_email.body_text
    assert "MRN" not in north_email.body_text + north_email.body_html
    assert "restoring the gateway" not in north_email.body_text
    # No per-ticket reply emails on top of the one per person.
    assert not Notification.objects.filter(event=Notification.Event.PUBLIC_REPLY).exists()


def test_each_person_hears_once_when_their_tickets_fall_in_different_batches(declared, agent):
    incident, _ = declared
    update = post(incident, agent, T0 + datetime.timedelta(minutes=30), batch_size=1)
    assert update.ticket_count == 3
    rows = Notification.objects.filter(event=UPDATE, sequence=update.pk)
    assert sorted(rows.values_list("recipient", flat=True)) == [
        "pm@north.example",
        "pm@south.example",
    ]


def test_internal_note_stays_on_the_major_incident(declared, agent):
    incident, tickets = declared
    post(incident, agent, T0 + datetime.timedelta(minutes=30), body="Vendor blamed", public=False)
    assert not Comment.objects.filter(ticket__in=tickets).exists()
    assert fresh(tickets[0]).responded_at is None
    assert not Notification.objects.filter(event=UPDATE).exists()


def test_linked_ticket_whose_cadence_runs_out_gets_its_automated_update(declared, agent):
    incident, tickets = declared
    post(incident, agent, T0 + datetime.timedelta(minutes=30))
    # North's cadence ends at 15:30; no broadcast before then: the scan updates each site.
    late = T0 + datetime.timedelta(minutes=91)
    with time_machine.travel(late, tick=False):
        sla_scan_run(now=late)
    for ticket in map(fresh, tickets):
        assert ticket.client_update_count == 1
        assert Notification.objects.filter(
            ticket=ticket, event=Notification.Event.CLIENT_UPDATE
        ).exists()


def test_broadcast_stops_escalation_of_a_breached_ticket(declared, agent):
    incident, tickets = declared
    late = T0 + datetime.timedelta(minutes=61)
    with time_machine.travel(late, tick=False):
        sla_scan_run(now=late)
    breached = fresh(tickets[0])
    assert breached.escalation_next_at is not None
    post(incident, agent, T0 + datetime.timedelta(minutes=70))
    assert fresh(tickets[0]).escalation_next_at is None


def test_broadcast_costs_the_same_queries_for_more_tickets(agent, sites, pms):
    north, south = sites
    incident = mi.major_incident_create(actor=agent, title="Outage", sites=[north, south])

    def queries(count):
        tickets = [
            file_incident(site=(north, south)[n % 2], reporter=pms[n % 2]) for n in range(count)
        ]
        mi.major_incident_link(major_incident=incident, tickets=tickets, actor=agent)
        with CaptureQueriesContext(connection) as captured:
            post(incident, agent, T0 + datetime.timedelta(minutes=30), batch_size=100)
        mi.major_incident_unlink(major_incident=incident, tickets=tickets, actor=agent)
        return len(captured)

    assert queries(3) == queries(12)


def test_resolution_resolves_every_linked_ticket_and_a_reopen_unlinks(declared, agent, pms):
    incident, tickets = declared
    at(
        T0 + datetime.timedelta(minutes=40),
        mi.major_incident_change,
        major_incident=incident,
        actor=agent,
        status="resolved",
        resolution="The gateway is back.",
    )
    incident.refresh_from_db()
    assert incident.status == MajorIncident.Status.RESOLVED
    for ticket in map(fresh, tickets):
        assert ticket.status == Status.RESOLVED
        assert ticket.comments.filter(body="The gateway is back.").exists()
    reopened = at(
        T0 + datetime.timedelta(minutes=50),
        services.ticket_status_change,
        ticket=tickets[2],
        actor=pms[1],
        status=Status.IN_PROGRESS,
    )
    reopened = fresh(reopened)
    assert reopened.major_incident_id is None
    assert reopened.events.filter(action=TicketEvent.Action.UNLINKED).exists()
    assert fresh(tickets[0]).major_incident_id == incident.pk


def test_declaring_opens_a_ticket_for_a_site_that_has_not_filed(agent, sites, pms):
    north, south = sites
    ticket = file_incident(site=north, reporter=pms[0])
    incident = mi.major_incident_create(actor=agent, title="Outage", sites=[north, south])
    mi.major_incident_link(major_incident=incident, tickets=[ticket], actor=agent)
    opened = mi.major_incident_tickets_open(major_incident=incident, actor=agent)
    assert [(t.site, t.reporter) for t in opened] == [(south, pms[1])]
    assert fresh(opened[0]).major_incident_id == incident.pk
    assert Notification.objects.filter(
        ticket=opened[0], event=Notification.Event.TICKET_FILED, recipient="pm@south.example"
    ).exists()
