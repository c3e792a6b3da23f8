"""Who is emailed at each level, exactly once, and what the email says."""

import datetime
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from escalation.models import EscalationRecord
from escalation.services import escalation_step
from sla.models import SLAPolicy
from sla.scan import sla_scan_run
from tests.sla.factories import BusinessCalendarFactory, HolidayFactory
from tests.tickets.factories import ClientSiteFactory, TicketFactory
from tickets.models import Notification, Ticket
from tickets.outbox import notifications_deliver_due

from .conftest import T0, breach, overdue_ticket
from .factories import EscalationContactFactory

HOUR = timedelta(hours=1)


def sent_keys(ticket) -> set[tuple[str, int]]:
    return set(
        Notification.objects.filter(ticket=ticket, event=Notification.Event.ESCALATED).values_list(
            "recipient", "sequence"
        )
    )


def climb_to_level_4(ticket):
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
    for later in (2, 3, 4):
        with time_machine.travel(T0 + later * HOUR, tick=False):
            sla_scan_run(now=T0 + later * HOUR)


@pytest.mark.django_db
def test_each_contact_gets_one_email_per_level_only_for_their_sites(site):
    other = ClientSiteFactory(name="County General", slug="county")
    team = EscalationContactFactory(at=2, site=site, email="team@stmarys.example")
    everyone2 = EscalationContactFactory(at=2, email="desk@rxhealth.example")
    EscalationContactFactory(at=2, site=other, email="team@county.example")
    EscalationContactFactory(at=2, site=site, email="gone@stmarys.example", is_active=False)
    leads = EscalationContactFactory(at=3, site=site, email="director@rxhealth.example")
    EscalationContactFactory(at=3, site=other, email="director-county@rxhealth.example")
    execs = EscalationContactFactory(at=4, email="exec@rxhealth.example")

    ticket = overdue_ticket(impact="high", site=site)
    climb_to_level_4(ticket)
    # A second pass at the same moment (a retried or overlapping scan) adds nothing.
    with time_machine.travel(T0 + 4 * HOUR, tick=False):
        escalation_step(T0 + 4 * HOUR)
        escalation_step(T0 + 4 * HOUR)

    assert sent_keys(ticket) == {
        (team.email, 2),
        (everyone2.email, 2),
        (team.email, 3),
        (everyone2.email, 3),
        (leads.email, 3),
        (team.email, 4),
        (everyone2.email, 4),
        (leads.email, 4),
        (execs.email, 4),
    }
    notified = {r.level: {n["email"] for n in r.notified} for r in ticket.escalation_records.all()}
    assert notified == {
        2: {team.email, everyone2.email},
        3: {team.email, everyone2.email, leads.email},
        4: {team.email, everyone2.email, leads.email, execs.email},
    }


@pytest.mark.django_db
def test_a_contact_listed_at_two_levels_gets_one_email_per_level(site):
    EscalationContactFactory(at=2, site=site, email="pat@rxhealth.example")
    EscalationContactFactory(at=3, email="pat@rxhealth.example")
    ticket = overdue_ticket(impact="high", site=site)
    climb_to_level_4(ticket)
    assert sent_keys(ticket) == {
        ("pat@rxhealth.example", 2),
        ("pat@rxhealth.example", 3),
        ("pat@rxhealth.example", 4),
    }


@pytest.mark.django_db(transaction=True)
def test_escalation_email_says_what_is_late_by_how_long_and_never_the_description(site, settings):
    settings.SUPPORT_PHONE = "(646) 969-9939 option 2"
    EscalationContactFactory(at=2, site=site, email="team@stmarys.example")
    EscalationContactFactory(at=3, email="director@rxhealth.example", role="Project Director")
    ticket = overdue_ticket(
        impact="high",
        site=site,
        title="Pharmacy interface down",
        description="Patient Jane Roe, MRN 4471, cannot get her dose",
    )
    with time_machine.travel(T0 + HOUR + timedelta(minutes=2), tick=False):
        breach(ticket, at=T0 + HOUR)
        notifications_deliver_due()
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        sla_scan_run(now=T0 + 2 * HOUR)
        notifications_deliver_due()

    assert sorted((m.to[0], m.subject.split(":")[0][-7:]) for m in mail.outbox) == [
        ("director@rxhealth.example", "level 3"),
        ("team@stmarys.example", "level 2"),
        ("team@stmarys.example", "level 3"),
    ]
    level3 = next(m for m in mail.outbox if "level 3" in m.subject)
    assert isinstance(level3, EmailMultiAlternatives)
    for body in (str(level3.body), str(level3.alternatives[0][0])):
        assert ticket.reference in body
        assert "Pharmacy interface down" in body
        assert "St. Mary" in body
        assert "1 h late" in body
        assert "level 3" in body
        assert "(646) 969-9939 option 2" in body
        assert f"https://support.rxhealth.example/admin/tickets/ticket/{ticket.pk}/change/" in body
        assert "https://support.rxhealth.example/escalation/ack/" in body
        assert "Jane Roe" not in body
        assert "MRN 4471" not in body  # the bare digits may be part of an id
    assert level3.subject.startswith(f"[{ticket.reference}] Escalation level 3")
    first = next(m for m in mail.outbox if "level 2" in m.subject)
    assert "2 min late" in first.body
    # Each recipient's link is their own.
    links = {m.body.split("/escalation/ack/")[1].split("/")[0] for m in mail.outbox}
    assert len(links) == 3


def _tickets_due(count: int, *, site, level: int = 2):
    tickets = TicketFactory.create_batch(
        count,
        site=site,
        kind="incident",
        impact="high",
        response_due_at=T0 + HOUR,
        response_breached_at=T0 + HOUR,
        escalation_level=level,
        escalated_at=T0 + HOUR,
        escalation_next_at=T0 + 2 * HOUR,
    )
    return [t.pk for t in tickets]


@pytest.mark.django_db
@pytest.mark.parametrize("policy_clock", ["24x7", "business calendar"])
def test_escalation_step_costs_the_same_queries_for_10_and_100_tickets(
    site, on_postgres, policy_clock
):
    if policy_clock == "business calendar":
        # Every day, all day, with holidays: the next-level times count working time.
        calendar = BusinessCalendarFactory(
            weekdays=range(7), weekdays__hours=(datetime.time(0), datetime.time(23, 59))
        )
        for day in (datetime.date(2026, 3, 3), datetime.date(2026, 12, 25)):
            HolidayFactory(calendar=calendar, date=day)
        SLAPolicy.objects.filter(kind="incident", impact="high").update(calendar=calendar)
    other = ClientSiteFactory(name="County General", slug="county")
    EscalationContactFactory(at=2, site=site)
    EscalationContactFactory(at=2, site=other)
    EscalationContactFactory(at=3)
    counts, reads_and_updates = {}, {}
    for n in (10, 100):
        ids = _tickets_due(n // 2, site=site) + _tickets_due(n - n // 2, site=other)
        with (
            time_machine.travel(T0 + 2 * HOUR, tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            assert escalation_step(T0 + 2 * HOUR) == n
        counts[n] = len(queries)
        reads_and_updates[n] = sum(
            not q["sql"].startswith(("INSERT", "SAVEPOINT", "RELEASE"))
            for q in queries.captured_queries
        )
        levels = Ticket.objects.filter(pk__in=ids).values_list("escalation_level", flat=True)
        assert set(levels) == {3}
        assert Notification.objects.filter(ticket_id__in=ids).count() == 2 * n
        Ticket.objects.filter(pk__in=ids).update(escalation_next_at=None)
    assert reads_and_updates[10] == reads_and_updates[100], reads_and_updates
    if on_postgres:
        assert counts[10] == counts[100], counts
    else:
        # SQLite caps a statement at 999 parameters, so Django splits the bulk inserts into
        # chunks there; PostgreSQL (production, and the bench bar) sends one statement each.
        assert counts[100] - counts[10] <= 4, counts


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_steps_running_at_once_send_each_email_once_on_postgres(site):
    EscalationContactFactory(at=2, site=site, email="team@stmarys.example")
    EscalationContactFactory(at=3, email="director@rxhealth.example")
    ids = _tickets_due(60, site=site)
    now = T0 + 2 * HOUR
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(escalation_step(now))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    with time_machine.travel(now, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors
    assert sum(results) == 60
    assert set(Ticket.objects.filter(pk__in=ids).values_list("escalation_level", flat=True)) == {3}
    assert EscalationRecord.objects.filter(ticket_id__in=ids, level=3).count() == 60
    rows = Notification.objects.filter(ticket_id__in=ids, event=Notification.Event.ESCALATED)
    assert rows.count() == 120
    assert set(rows.values_list("recipient", flat=True)) == {
        "team@stmarys.example",
        "director@rxhealth.example",
    }
