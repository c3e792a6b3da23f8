"""Old JIRA links and searches by JIRA key: /jira/<KEY>/, the portal, the API and admin."""

import pytest
from rest_framework.test import APIClient

from tests.tickets.factories import (
    ClientSiteFactory,
    MembershipFactory,
    StaffFactory,
    SuperuserFactory,
    TicketFactory,
)
from tickets.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported():
    site = ClientSiteFactory(slug="mercy-general")
    member = MembershipFactory(site=site, role=Role.VIEWER).user
    outsider = MembershipFactory(site=ClientSiteFactory(slug="county"), role=Role.PM).user
    ticket = TicketFactory(site=site, jira_key="RXH-101", title="Wristband printers down")
    TicketFactory(site=site, title="Something else")
    return ticket, member, outsider


def test_jira_link_leads_a_member_to_the_ticket(client, imported):
    ticket, member, _ = imported
    client.force_login(member)

    response = client.get("/jira/rxh-101/")

    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.reference}/"


def test_jira_link_is_404_for_another_sites_member_and_an_unknown_key(client, imported):
    _, _, outsider = imported
    client.force_login(outsider)

    assert client.get("/jira/RXH-101/").status_code == 404
    assert client.get("/jira/RXH-999/").status_code == 404


def test_jira_link_asks_a_stranger_to_sign_in(client, imported):
    response = client.get("/jira/RXH-101/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_portal_search_finds_a_ticket_by_its_jira_key(client, imported):
    ticket, member, outsider = imported
    client.force_login(member)

    page = client.get("/", {"q": "rxh-101", "state": "all"}).content.decode()

    assert ticket.reference in page and "Something else" not in page
    client.force_login(outsider)
    page = client.get("/", {"q": "RXH-101", "state": "all"}).content.decode()
    assert ticket.reference not in page


def test_api_search_matches_jira_keys_and_the_json_carries_the_key(imported):
    ticket, member, outsider = imported
    api = APIClient()
    api.force_login(member)

    body = api.get("/api/v1/tickets/", {"search": "RXH-101"}).json()

    assert [t["reference"] for t in body["results"]] == [ticket.reference]
    assert body["results"][0]["jira_key"] == "RXH-101"
    assert api.get(f"/api/v1/tickets/{ticket.reference}/").json()["jira_key"] == "RXH-101"
    api.force_login(outsider)
    assert api.get("/api/v1/tickets/", {"search": "RXH-101"}).json()["results"] == []


def test_api_search_that_is_too_long_is_a_400(imported):
    api = APIClient()
    api.force_login(StaffFactory())

    assert api.get("/api/v1/tickets/", {"search": "x" * 201}).status_code == 400


def test_admin_search_finds_a_ticket_by_its_jira_key(client, imported):
    ticket, _, _ = imported
    client.force_login(SuperuserFactory())

    page = client.get("/admin/tickets/ticket/", {"q": "rxh-101"}).content.decode()

    assert ticket.reference in page and "Something else" not in page
