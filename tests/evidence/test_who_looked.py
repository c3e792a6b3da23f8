"""Who looked: staff opening a ticket's page, thread or files is recorded (one insert per
page), and the site's project manager sees it on the portal."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evidence.models import TicketView
from tests.portal.api.conftest import client_for
from tests.portal.helpers import png
from tests.sla.helpers import file_ticket
from tickets import services

pytestmark = pytest.mark.django_db


def _inserts(queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith('INSERT INTO "evidence_ticketview"'))


@pytest.fixture
def ticket(site, pm):
    ticket = file_ticket(actor=pm, site=site, kind="general")
    services.attachment_add(ticket=ticket, uploaded_by=pm, file=png("scan.png"))
    return ticket


def test_opening_a_ticket_in_the_back_office_is_recorded_once_per_page(client, agent, ticket):
    client.force_login(agent)
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    client.get(url)  # the session's first page does a little more
    with CaptureQueriesContext(connection) as first:
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get(url).status_code == 200
    assert _inserts(first) == _inserts(second) == 1
    assert len(first) == len(second)
    view = TicketView.objects.latest("id")
    assert (view.ticket_id, view.viewer, view.what, view.face) == (
        ticket.pk, agent, "ticket", "back_office"
    )  # fmt: skip
    assert view.viewer_name == "Chris Patel"


def test_api_detail_thread_and_file_are_recorded_for_staff_at_one_insert_each(agent, ticket):
    api = client_for(agent)
    base = f"/api/v1/tickets/{ticket.reference}/"
    attachment = ticket.attachments.get()
    for url in (base, base + "comments/", f"{base}attachments/{attachment.pk}/"):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(url).status_code == 200, url
        assert _inserts(queries) == 1, url
    recorded = list(TicketView.objects.order_by("id").values_list("what", "face", "attachment_id"))
    assert recorded == [
        ("description", "api", None),
        ("thread", "api", None),
        ("attachment", "api", attachment.pk),
    ]


def test_api_detail_costs_the_same_queries_however_many_views_were_recorded(agent, ticket):
    api = client_for(agent)
    url = f"/api/v1/tickets/{ticket.reference}/"
    api.get(url)
    with CaptureQueriesContext(connection) as few:
        api.get(url)
    for _ in range(20):
        api.get(url)
    with CaptureQueriesContext(connection) as many:
        api.get(url)
    assert len(few) == len(many)


def test_a_site_member_reading_their_own_ticket_is_not_recorded(client, pm, ticket):
    client_for(pm).get(f"/api/v1/tickets/{ticket.reference}/")
    client.force_login(pm)
    attachment = ticket.attachments.get()
    assert client.get(reverse("ticket-detail", args=[ticket.reference])).status_code == 200
    assert (
        client.get(
            reverse("attachment-download", args=[ticket.reference, attachment.pk])
        ).status_code
        == 200
    )
    assert not TicketView.objects.exists()


def test_another_sites_ticket_refused_to_staff_less_user_records_nothing(other_pm, ticket):
    assert client_for(other_pm).get(f"/api/v1/tickets/{ticket.reference}/").status_code == 404
    assert not TicketView.objects.exists()


def test_the_pm_sees_who_at_rx_health_opened_their_tickets_and_only_theirs(
    client, pm, agent, ticket, other_site, other_pm
):
    other_ticket = file_ticket(actor=other_pm, site=other_site, kind="general")
    api = client_for(agent)
    api.get(f"/api/v1/tickets/{ticket.reference}/")
    api.get(f"/api/v1/tickets/{other_ticket.reference}/comments/")
    attachment = ticket.attachments.get()
    api.get(f"/api/v1/tickets/{ticket.reference}/attachments/{attachment.pk}/")
    client.force_login(pm)
    page = client.get(reverse("site-ticket-views", args=[ticket.site.slug]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Chris Patel" in text
    assert ticket.reference in text
    assert "scan.png" in text
    assert other_ticket.reference not in text
    # Another site's list is not theirs to see.
    assert client.get(reverse("site-ticket-views", args=[other_site.slug])).status_code == 404


def test_only_the_project_manager_sees_the_list(client, it, ticket):
    client.force_login(it)
    assert client.get(reverse("site-ticket-views", args=[ticket.site.slug])).status_code == 403


def test_the_list_page_costs_the_same_queries_for_few_or_many_views(client, pm, agent, ticket):
    api = client_for(agent)
    api.get(f"/api/v1/tickets/{ticket.reference}/")
    client.force_login(pm)
    url = reverse("site-ticket-views", args=[ticket.site.slug])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(30):
        api.get(f"/api/v1/tickets/{ticket.reference}/comments/")
    with CaptureQueriesContext(connection) as many:
        assert client.get(url + "?page=bogus").status_code == 200
    assert len(few) == len(many)
