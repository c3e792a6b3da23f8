"""The dashboard, the new-ticket form and the ticket page, as a site contact uses them."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from sla.models import SLAPolicy
from tests.portal.helpers import member, png
from tests.tickets.factories import ClientSiteFactory, TicketFactory
from tickets import services
from tickets.models import Role, Status, Ticket

NOON_UTC = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)  # 12:00 EST


def _file(client, to_site, **overrides):
    data = {
        "site": to_site.pk,
        "kind": "incident",
        "impact": "high",
        "title": "Pharmacy module down",
        "description": "Nobody can open it since 9:10.",
    }
    data.update(overrides)
    return client.post(reverse("ticket-new"), data)


# NEW TICKET


@pytest.mark.django_db
def test_new_ticket_form_states_each_kinds_commitment_from_the_policy_data(client, pm):
    SLAPolicy.objects.filter(kind="change").update(first_response_minutes=3 * 60)
    SLAPolicy.objects.filter(kind="incident", impact="high").update(
        first_response_minutes=45, update_every_minutes=90
    )
    client.force_login(pm)
    page = client.get(reverse("ticket-new")).content.decode()
    assert "First response within 3 hours, with an estimated resolution time." in page
    assert (
        "First response within 45 minutes, then an update at least every 1 hour 30 minutes" in page
    )
    assert "First response within 8 hours." in page  # general, as seeded
    assert "completely unavailable" in page  # the high-impact definition
    assert "Is revenue or time-sensitive regulatory compliance affected?" in page


@pytest.mark.django_db
def test_single_site_member_gets_no_site_chooser_but_multi_site_member_does(client, site, pm):
    client.force_login(pm)
    page = client.get(reverse("ticket-new")).content.decode()
    assert '<select name="site"' not in page
    second = ClientSiteFactory(name="Mercy North", slug="mercy-north")
    member_row = pm.site_memberships.model(user=pm, site=second, role=Role.IT)
    member_row.save()
    page = client.get(reverse("ticket-new")).content.decode()
    assert '<select name="site"' in page and "Mercy North" in page


@pytest.mark.django_db
def test_filing_with_several_attachments_opens_the_ticket_page(client, site, pm):
    client.force_login(pm)
    files = [png("one.png"), SimpleUploadedFile("log.txt", b"ERROR 500 at 09:10\n")]
    response = _file(client, site, attachments=files)
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ticket-detail", args=[ticket.reference])
    assert sorted(a.original_name for a in ticket.attachments.all()) == ["log.txt", "one.png"]
    assert ticket.reporter == pm and ticket.impact == "high"
    page = client.get(response["Location"]).content.decode()
    assert f"{ticket.reference} is filed" in page


@pytest.mark.django_db
def test_non_incident_filed_with_an_impact_left_checked_drops_the_impact(client, site, pm):
    client.force_login(pm)
    _file(client, site, kind="general", impact="high")
    assert Ticket.objects.get().impact == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"impact": ""}, "Choose the impact of the incident."),
        ({"kind": "bogus"}, "Select a valid choice"),
        ({"title": ""}, "This field is required."),
        ({"title": "   "}, "This field is required."),
        ({"title": "x" * 201}, "at most 200 characters"),
        ({"description": "bad \x00 byte"}, "Null characters are not allowed"),
        ({"site": "not-a-number"}, "Select a valid choice"),
        (
            {"attachments": [SimpleUploadedFile("run.exe", b"MZ\x90\x00" + b"\x00" * 64)]},
            "run.exe: .EXE files are not accepted",
        ),
        ({"attachments": [SimpleUploadedFile("empty.txt", b"")]}, "empty"),
    ],
)
def test_bad_new_ticket_input_shows_errors_not_500(client, site, pm, overrides, message):
    client.force_login(pm)
    response = _file(client, site, **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Ticket.objects.exists()


@pytest.mark.django_db
@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_too_large_attachment_is_a_form_error(client, site, pm):
    client.force_login(pm)
    response = _file(client, site, attachments=[SimpleUploadedFile("big.txt", b"a" * 2048)])
    assert response.status_code == 400
    assert "larger than the limit" in response.content.decode()


# TICKET PAGE


@pytest.mark.django_db
def test_ticket_page_states_first_response_due_in_the_sites_time_zone(client, pm, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(response_due_at=NOON_UTC + timedelta(minutes=65))
    client.force_login(pm)
    with time_machine.travel(NOON_UTC, tick=False):
        page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "First response due by <strong>13:05 EST</strong>" in page
    assert "in 1\xa0hour" in page


@pytest.mark.django_db
def test_ticket_page_says_being_calculated_until_the_sla_engine_sets_the_due_time(
    client, pm, ticket
):
    Ticket.objects.filter(pk=ticket.pk).update(response_due_at=None)
    client.force_login(pm)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "Due time being calculated" in page


@pytest.mark.django_db
def test_ticket_page_shows_the_escalation_level_and_its_group_name(client, pm, ticket):
    from escalation.models import EscalationLevel

    Ticket.objects.filter(pk=ticket.pk).update(escalation_level=3)
    client.force_login(pm)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert f"Level 3: {EscalationLevel.objects.get(number=3).name}" in page


@pytest.mark.django_db
def test_internal_notes_and_their_files_stay_hidden_from_the_site(client, site, pm, ticket):
    from tests.tickets.factories import StaffFactory

    agent = StaffFactory()
    services.comment_post(ticket=ticket, author=agent, body="Looking now.")
    note = services.comment_post(
        ticket=ticket,
        author=agent,
        body="Secret DB password",
        public=False,
        files=[png("internal-only.png")],
    )
    client.force_login(pm)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "Looking now." in page
    assert "Secret DB password" not in page and "internal-only.png" not in page
    hidden = note.attachments.get()
    url = reverse("attachment-download", args=[ticket.reference, hidden.pk])
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_reply_with_attachment_appears_in_the_thread(client, pm, ticket):
    client.force_login(pm)
    response = client.post(
        reverse("ticket-reply", args=[ticket.reference]),
        {"body": "Still down on ward 3.", "attachments": [png("ward3.png")]},
    )
    comment = ticket.comments.get()
    assert response["Location"].endswith(f"#comment-{comment.pk}")
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "Still down on ward 3." in page and "ward3.png" in page


@pytest.mark.django_db
def test_empty_reply_shows_an_error_not_500(client, pm, ticket):
    client.force_login(pm)
    response = client.post(reverse("ticket-reply", args=[ticket.reference]), {"body": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ticket.comments.exists()


@pytest.mark.django_db
def test_reply_to_a_closed_ticket_is_refused_on_the_form(client, pm, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    client.force_login(pm)
    response = client.post(reverse("ticket-reply", args=[ticket.reference]), {"body": "Hi"})
    assert response.status_code == 400
    assert "This ticket is closed" in response.content.decode()


@pytest.mark.django_db
def test_mark_resolved_then_reopen(client, pm, ticket):
    client.force_login(pm)
    url = reverse("ticket-status", args=[ticket.reference])
    client.post(url, {"status": "resolved"})
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "Reopen" in page and "Mark resolved" not in page
    client.post(url, {"status": "in_progress"})
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS


@pytest.mark.django_db
def test_disallowed_status_move_is_a_message_not_500(client, pm, ticket):
    client.force_login(pm)
    url = reverse("ticket-status", args=[ticket.reference])
    response = client.post(url, {"status": "in_progress"}, follow=True)  # new -> in progress
    assert response.status_code == 200
    assert "cannot be moved" in response.content.decode()
    response = client.post(url, {"status": "closed"}, follow=True)
    assert "Choose Mark resolved or Reopen." in response.content.decode()


@pytest.mark.django_db
def test_attachment_downloads_with_its_name_and_content(client, pm, ticket):
    attachment = ticket.attachments.get()
    client.force_login(pm)
    response = client.get(reverse("attachment-download", args=[ticket.reference, attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert 'attachment; filename="screen.png"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


# ESCALATE BUTTON (shown when escalation_request_refusal has no objection)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("due_in_minutes", "responded", "role", "shown"),
    [
        (-5, False, Role.PM, True),
        (-5, False, Role.IT, True),
        (-5, False, Role.VIEWER, False),
        (30, False, Role.PM, False),
        (-5, True, Role.PM, False),
    ],
)
def test_escalate_shows_only_when_the_response_is_overdue_for_pm_and_it(
    client, site, ticket, due_in_minutes, responded, role, shown
):
    now = datetime.now(tz=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(
        response_due_at=now + timedelta(minutes=due_in_minutes),
        responded_at=now if responded else None,
    )
    client.force_login(member(site, role))
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert (">Escalate to level 2…</a>" in page) is shown


@pytest.mark.django_db
def test_a_general_request_at_its_maximum_level_offers_no_escalate_and_says_why(client, site, pm):
    # General requests climb to level 2 at most (the seeded maximum): overdue at level 2,
    # the page offers nothing that the escalation service would refuse.
    ticket = TicketFactory(site=site, kind="general", impact="", reporter=pm)
    Ticket.objects.filter(pk=ticket.pk).update(
        response_due_at=datetime.now(tz=UTC) - timedelta(hours=1), escalation_level=2
    )
    client.force_login(pm)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert reverse("ticket-escalate", args=[ticket.reference]) not in page
    assert "already at level 2, the highest level for its kind and impact" in page
    # One level lower, the same ticket may be escalated.
    Ticket.objects.filter(pk=ticket.pk).update(escalation_level=1)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert ">Escalate to level 2…</a>" in page


# DASHBOARD


@pytest.mark.django_db
def test_dashboard_shows_due_time_relative_and_in_site_time_zone(client, site, pm, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(response_due_at=NOON_UTC + timedelta(minutes=45))
    client.force_login(pm)
    with time_machine.travel(NOON_UTC, tick=False):
        page = client.get(reverse("dashboard")).content.decode()
    assert "in 45\xa0minutes" in page
    assert "12:45 EST" in page


@pytest.mark.django_db
def test_dashboard_banner_while_a_high_incident_is_open(client, site, pm, ticket):
    client.force_login(pm)
    page = client.get(reverse("dashboard")).content.decode()
    assert "High-impact incident open" in page
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.RESOLVED)
    page = client.get(reverse("dashboard")).content.decode()
    assert "High-impact incident open" not in page


@pytest.mark.django_db
def test_dashboard_filters_and_search(client, site, pm):
    TicketFactory(site=site, reporter=pm, title="Printer jam", reference="RX-5001")
    TicketFactory(
        site=site, reporter=pm, title="Old printer", status=Status.CLOSED, reference="RX-5002"
    )
    TicketFactory(
        site=site,
        reporter=pm,
        title="Slow lab results",
        kind="incident",
        impact="low",
        reference="RX-5003",
    )
    client.force_login(pm)

    def refs(**params):
        page = client.get(reverse("dashboard"), params)
        assert page.status_code == 200
        return sorted(t.reference for t in page.context["page"].object_list)

    assert refs() == ["RX-5001", "RX-5003"]  # open by default
    assert refs(state="closed") == ["RX-5002"]
    assert refs(state="all", q="printer") == ["RX-5001", "RX-5002"]
    assert refs(state="all", q="rx-5003") == ["RX-5003"]
    assert refs(kind="incident") == ["RX-5003"]
    assert refs(status="new") == ["RX-5001", "RX-5003"]
    # Bad values in the address are ignored, never an error page.
    assert refs(state="nonsense", kind="\x00", status="zzz", page="-3") == ["RX-5001", "RX-5003"]


@pytest.mark.django_db
@override_settings(PORTAL_DASHBOARD_PAGE_SIZE=2)
def test_dashboard_paginates_and_keeps_the_filters(client, site, pm):
    for n in range(5):
        TicketFactory(site=site, reporter=pm, title=f"Printer {n}")
    client.force_login(pm)
    page = client.get(reverse("dashboard"), {"q": "Printer", "page": 2})
    assert len(page.context["page"].object_list) == 2
    assert "q=Printer&amp;page=3" in page.content.decode()


@pytest.mark.django_db
def test_a_reference_with_a_nul_byte_is_a_404_not_500(client, pm, ticket):
    client.force_login(pm)
    assert client.get("/tickets/RX-1001%00/").status_code == 404
    assert client.get("/tickets/RX%00/attachments/1/").status_code == 404
    assert client.post("/tickets/RX%00/reply/", {"body": "x"}).status_code == 404


@pytest.mark.django_db
def test_staff_opening_a_portal_ticket_page_are_taken_to_the_back_office(client, ticket):
    from tests.tickets.factories import StaffFactory

    client.force_login(StaffFactory())
    response = client.get(reverse("ticket-detail", args=[ticket.reference]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tickets_ticket_change", args=[ticket.pk])


@pytest.mark.django_db
def test_the_client_thread_shows_automated_updates_in_time_order(client, site, pm):
    from tests.tickets.factories import StaffFactory

    monday = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    with time_machine.travel(monday, tick=False):
        ticket = services.ticket_create(
            actor=pm, site=site, kind="incident", impact="high", title="Down", description="x"
        )
    with time_machine.travel(monday + timedelta(minutes=20), tick=False):
        services.comment_post(ticket=ticket, author=pm, body="Still down on ward 3.")
    from sla.scan import sla_scan_run

    with time_machine.travel(monday + timedelta(hours=1), tick=False):
        sla_scan_run(now=monday + timedelta(hours=1))
    with time_machine.travel(monday + timedelta(hours=1, minutes=10), tick=False):
        services.comment_post(ticket=ticket, author=StaffFactory(), body="Looking at it now.")
    client.force_login(pm)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "No replies yet" not in page
    order = [page.index(s) for s in ("Still down on ward 3.", "Automated update", "Looking at it")]
    assert order == sorted(order)
