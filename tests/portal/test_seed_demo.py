from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from escalation.models import EscalationContact
from portal.management.commands.seed_demo import DEMO_PASSWORD
from tickets.models import ClientSite, Comment, SiteMembership, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

User = get_user_model()
MODELS = (User, ClientSite, SiteMembership, EscalationContact, Ticket, Comment, TicketEvent)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_twice_creates_nothing_the_second_time():
    first = seed()
    counts = {model.__name__: model.objects.count() for model in MODELS}
    second = seed()

    assert "created: 2 sites, 8 users, 8 contacts, 6 tickets" in first
    assert "created: 0 sites, 0 users, 0 contacts, 0 tickets" in second
    assert {model.__name__: model.objects.count() for model in MODELS} == counts


def test_seed_demo_prints_logins_that_work(client):
    output = seed()
    assert "http://" in output or "https://" in output
    assert DEMO_PASSWORD in output
    for username in ("admin", "agent", "riverside-pm", "cascade-viewer"):
        assert username in output
        assert client.login(username=username, password=DEMO_PASSWORD)
        client.logout()
    assert User.objects.get(username="admin").is_superuser
    agent = User.objects.get(username="agent")
    assert agent.is_staff and not agent.is_superuser
    assert agent.has_perm("tickets.change_ticket")


def test_seed_demo_gives_each_site_a_pm_an_it_and_a_viewer():
    seed()
    for site in ClientSite.objects.all():
        roles = sorted(site.memberships.values_list("role", flat=True))
        assert roles == ["it", "pm", "viewer"]
    assert {s.timezone for s in ClientSite.objects.all()} == {
        "America/New_York",
        "America/Los_Angeles",
    }


def test_seed_demo_fills_every_escalation_level(settings):
    seed()
    levels = set(EscalationContact.objects.values_list("level__number", flat=True))
    assert levels == {1, 2, 3, 4}
    queue = EscalationContact.objects.get(level__number=1)
    assert queue.email == settings.SUPPORT_QUEUE_EMAIL and queue.site is None
    for site in ClientSite.objects.all():
        roles = set(
            EscalationContact.objects.filter(level__number=2, site=site).values_list(
                "role", flat=True
            )
        )
        assert roles == {"Project team: technical lead", "Project team: clinical lead"}
    program_leads = EscalationContact.objects.filter(level__number=3, site=None)
    assert set(program_leads.values_list("role", flat=True)) == {
        "Project Director",
        "Tech Services Director",
    }


def test_seed_demo_files_tickets_of_every_kind_through_the_services():
    seed()
    assert set(Ticket.objects.values_list("kind", flat=True)) == {
        "general",
        "task",
        "change",
        "incident",
    }
    # Filed through ticket_create: each has a reference and a "created" history entry.
    for ticket in Ticket.objects.all():
        assert ticket.reference.startswith("RX-")
        assert ticket.events.filter(action="created").exists()
    assert Ticket.objects.filter(status="waiting_on_client").exists()


def test_seed_demo_refuses_on_a_production_like_system_unless_told(settings):
    settings.HTTPS = True
    with pytest.raises(CommandError, match="production"):
        seed()
    assert not User.objects.filter(username="admin").exists()


def test_the_demo_shows_every_state_at_once(db):
    from django.core.management import call_command

    from tickets.models import Ticket

    call_command("seed_demo", stdout=__import__("io").StringIO())
    by_title = {t.title: t for t in Ticket.objects.all()}
    breached = by_title["Medication dispensing screen will not load on any ward"]
    assert breached.sla_state == "breached" and breached.escalation_level == 2
    assert breached.client_update_count == 1
    assert by_title["Where can we find the release notes for the spring update?"].sla_state == (
        "at_risk"
    )
    waiting = by_title["Reports export times out for the oncology unit"]
    assert waiting.status == "waiting_on_client" and waiting.comments.filter(by_staff=True)
    task = by_title["Add two new pharmacy technicians to the platform"]
    assert task.sla_state == "met" and task.estimated_resolution_at is not None
    assert by_title["Printer icon missing on one nursing station"].status == "resolved"
