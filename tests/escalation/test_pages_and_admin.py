"""The support contacts page, the ticket page's escalation box, and the admin."""

from datetime import timedelta

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse

from escalation.admin import escalation_preview_html
from escalation.models import EscalationRecord
from escalation.selectors import escalation_recipients_preview
from escalation.services import escalation_request
from tests.tickets.factories import ClientSiteFactory, MembershipFactory, SuperuserFactory
from tickets.models import Role

from .conftest import T0, breach, overdue_ticket
from .factories import EscalationContactFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def contacts(site):
    other = ClientSiteFactory(name="County General", slug="county")
    return {
        "team": EscalationContactFactory(
            at=2, site=site, name="Tess Team", role="Clinical lead", email="tess@rx.example"
        ),
        "desk": EscalationContactFactory(at=2, name="Dana Desk", role="Tech support"),
        "county": EscalationContactFactory(at=2, site=other, name="Cory County"),
        "director": EscalationContactFactory(at=3, name="Drew Director", role="Project Director"),
        "exec": EscalationContactFactory(at=4, name="Eve Exec", role="CEO", is_active=False),
    }


def test_support_page_shows_the_path_for_the_members_site_only(client, site, contacts):
    member = MembershipFactory(site=site, role=Role.VIEWER).user
    client.force_login(member)
    page = client.get(reverse("support")).content.decode()
    assert "St. Mary" in page
    for text in ("Project team", "Program leads", "Executive team", "(646) 969-9939 option 2"):
        assert text in page
    assert "Tess Team (Clinical lead)" in page
    assert "Dana Desk" in page
    assert "Drew Director (Project Director)" in page
    assert "Cory County" not in page
    assert "County General" not in page
    assert "Eve Exec" not in page
    assert "tess@rx.example" not in page


def test_support_page_needs_a_login(client):
    assert client.get(reverse("support")).status_code == 302


def test_recipients_preview_lists_who_hears_what_at_each_level(site, contacts):
    preview = {level.number: level for level in escalation_recipients_preview(site=site)}
    assert [c.name for c in preview[2].hears] == ["Dana Desk", "Tess Team"]
    assert [c.name for c in preview[3].hears] == ["Dana Desk", "Tess Team", "Drew Director"]
    assert [c.name for c in preview[3].added] == ["Drew Director"]
    assert preview[4].hears == preview[3].hears  # the executive is inactive
    html = escalation_preview_html(site=site)
    assert "Tess Team &lt;tess@rx.example&gt;" in html
    assert "Cory County" not in html


def test_ticket_page_shows_the_level_and_its_group_and_escalate_once_overdue(
    client, site, contacts
):
    pm = MembershipFactory(site=site, role=Role.PM).user
    ticket = overdue_ticket(impact="high", site=site)
    client.force_login(pm)
    page_url = reverse("ticket-detail", args=[ticket.reference])
    escalate_url = reverse("ticket-escalate", args=[ticket.reference])
    with time_machine.travel(T0 + 30 * timedelta(minutes=1), tick=False):
        early = client.get(page_url).content.decode()
    assert "Level 1: Support portal" in early
    assert escalate_url not in early
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
        later = client.get(page_url).content.decode()
    assert "Level 2: Project team" in later
    assert "automatically: no response within the committed time" in later
    assert "Tess Team" not in later  # group names, never people
    assert escalate_url in later
    assert "Escalate to level 3…" in later


def test_admin_pages_for_levels_contacts_maximums_history_and_acknowledgements(
    client, site, contacts
):
    pm = MembershipFactory(site=site, role=Role.PM).user
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        escalation_request(ticket=ticket, actor=pm)
    client.force_login(SuperuserFactory())
    for name in (
        "escalationlevel",
        "escalationcontact",
        "escalationmaximum",
        "escalationrecord",
        "escalationacknowledgement",
    ):
        url = reverse(f"admin:escalation_{name}_changelist")
        assert client.get(url).status_code == 200, url
    contacts_page = client.get(
        reverse("admin:escalation_escalationcontact_changelist"), {"q": "Tess"}
    ).content.decode()
    assert "Tess Team" in contacts_page
    assert "Dana Desk" not in contacts_page
    record = EscalationRecord.objects.get()
    page = client.get(reverse("admin:escalation_escalationrecord_change", args=[record.pk]))
    assert page.status_code == 200
    assert f"requested by {pm}" in page.content.decode()
    assert "Tess Team (tess@rx.example, level 2)" in page.content.decode()


def test_ticket_inline_shows_history_with_who_asked_who_heard_and_who_acknowledged(
    client, site, contacts
):
    from django.contrib import admin

    from escalation.admin import EscalationRecordInline
    from escalation.selectors import ack_token_make
    from escalation.services import escalation_acknowledge
    from tickets.models import Ticket

    pm = MembershipFactory(site=site, role=Role.PM).user
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(T0 + HOUR, tick=False):
        breach(ticket)
    with time_machine.travel(T0 + 90 * timedelta(minutes=1), tick=False):
        escalation_request(ticket=ticket, actor=pm)
        escalation_acknowledge(
            token=ack_token_make(ticket_id=ticket.pk, level=3, email="tess@rx.example")
        )
    inline = EscalationRecordInline(Ticket, admin.site)
    request = RequestFactory().get("/")
    request.user = SuperuserFactory()
    rows = list(inline.get_queryset(request).filter(ticket=ticket).order_by("level"))
    assert [(r.level, inline.how(r)) for r in rows] == [
        (2, "automatic"),
        (3, f"requested by {pm}"),
    ]
    assert "Drew Director (" in inline.notified_list(rows[1])
    assert "tess@rx.example at Mon 02 Mar 2026, 05:30 EST" in inline.acknowledged_by(rows[1])
    assert inline.acknowledged_by(rows[0]) == "—"
    assert not inline.has_add_permission(request)


def test_ticket_and_site_admin_pages_show_escalation_history_and_who_hears_what(
    client, site, contacts
):
    pm = MembershipFactory(site=site, role=Role.PM).user
    ticket = overdue_ticket(impact="high", site=site)
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        escalation_request(ticket=ticket, actor=pm)
    client.force_login(SuperuserFactory())

    ticket_page = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert ticket_page.status_code == 200
    assert f"requested by {pm}" in ticket_page.content.decode()

    site_page = client.get(reverse("admin:tickets_clientsite_change", args=[site.pk]))
    assert site_page.status_code == 200
    html = site_page.content.decode()
    assert "Tess Team" in html and "Drew Director" in html
    assert "Cory County" not in html
