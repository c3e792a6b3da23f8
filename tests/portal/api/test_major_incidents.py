"""The staff API for major incidents, through bearer tokens as integrators use it."""

import pytest

from tickets import services
from tickets.models import Notification, Ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/major-incidents/"


@pytest.fixture
def tickets(site, other_site, people, ticket):
    other = services.ticket_create(
        actor=people["outsider"],
        site=other_site,
        kind="incident",
        impact="high",
        title="Cannot chart",
        description="MRN 999 missing.",
    )
    return ticket, other


def declare(clients, **body):
    body = {"title": "EHR gateway outage", "sites": "all", **body}
    response = clients["staff"].post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_staff_declare_link_and_post_an_update_that_reaches_every_ticket(clients, tickets):
    incident = declare(clients, summary="Orders fail everywhere.")
    assert incident["sites"] == "all" and incident["impact"] == "high"
    assert incident["lead"] == "agent.lee"
    response = clients["staff"].post(
        f"{URL}{incident['id']}/tickets/",
        {"tickets": [t.reference for t in tickets]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert {t["reference"] for t in response.json()["tickets"]} == {t.reference for t in tickets}
    detail = clients["staff"].get(f"/api/v1/tickets/{tickets[0].reference}/").json()
    assert detail["major_incident"] == incident["id"]

    response = clients["staff"].post(
        f"{URL}{incident['id']}/updates/", {"body": "Restoring the gateway."}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["ticket_count"] == 2
    for ticket in tickets:
        comments = clients["staff"].get(f"/api/v1/tickets/{ticket.reference}/comments/").json()
        assert [c["body"] for c in comments["results"]] == ["Restoring the gateway."]
        assert Ticket.objects.get(pk=ticket.pk).responded_at is not None
    listed = clients["staff"].get(URL).json()
    assert listed["results"][0]["ticket_count"] == 2


def test_same_idempotency_key_posts_the_update_once(clients, tickets):
    incident = declare(clients)
    clients["staff"].post(
        f"{URL}{incident['id']}/tickets/", {"tickets": [tickets[0].reference]}, format="json"
    )
    for _ in range(2):
        response = clients["staff"].post(
            f"{URL}{incident['id']}/updates/",
            {"body": "Restoring."},
            format="json",
            HTTP_IDEMPOTENCY_KEY="update-1",
        )
        assert response.status_code == 201
    assert tickets[0].comments.count() == 1


def test_delete_unlinks_and_patch_resolves(clients, tickets):
    incident = declare(clients)
    path = f"{URL}{incident['id']}/tickets/"
    refs = {"tickets": [t.reference for t in tickets]}
    clients["staff"].post(path, refs, format="json")
    response = clients["staff"].delete(path, {"tickets": [tickets[1].reference]}, format="json")
    assert response.status_code == 200
    assert [t["reference"] for t in response.json()["tickets"]] == [tickets[0].reference]
    response = clients["staff"].patch(
        f"{URL}{incident['id']}/",
        {"status": "resolved", "resolution": "All back."},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "resolved"
    assert Ticket.objects.get(pk=tickets[0].pk).status == "resolved"
    assert Ticket.objects.get(pk=tickets[1].pk).status == "new"
    again = clients["staff"].patch(f"{URL}{incident['id']}/", {"status": "monitoring"})
    assert again.status_code == 409


@pytest.mark.parametrize("role", ["pm", "it", "viewer", "outsider"])
def test_site_contacts_may_not_use_the_major_incident_api(clients, tickets, role):
    incident = declare(clients)
    assert clients[role].get(URL).status_code == 403
    assert clients[role].get(f"{URL}{incident['id']}/").status_code == 403
    assert clients[role].post(URL, {"title": "x", "sites": "all"}, format="json").status_code == 403
    assert clients["anonymous"].get(URL).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"sites": "all"},
        {"title": "Outage"},
        {"title": "Outage", "sites": []},
        {"title": "Outage", "sites": ["no-such-site"]},
        {"title": "Outage", "sites": [1, 2]},
        {"title": "Outage", "sites": "all", "impact": "huge"},
        {"title": "Outage", "sites": "all", "lead": "sm-pm"},
        {"title": "\x00", "sites": "all"},
    ],
)
def test_bad_declarations_are_400_with_field_errors(clients, body):
    response = clients["staff"].post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]


def test_linking_bad_references_or_another_sites_ticket_is_refused(clients, tickets, site):
    incident = declare(clients, sites=[site.slug])
    path = f"{URL}{incident['id']}/tickets/"
    assert clients["staff"].post(path, {"tickets": ["RX-0"]}, format="json").status_code == 400
    assert clients["staff"].post(path, {"tickets": "RX-1"}, format="json").status_code == 400
    response = clients["staff"].post(path, {"tickets": [tickets[1].reference]}, format="json")
    assert response.status_code == 400
    assert "does not affect" in str(response.json()["fields"])
    assert clients["staff"].get(f"{URL}999999/").status_code == 404


def test_a_site_contact_sees_only_its_ticket_id_never_the_affected_sites(clients, tickets):
    incident = declare(clients)
    clients["staff"].post(
        f"{URL}{incident['id']}/tickets/",
        {"tickets": [t.reference for t in tickets]},
        format="json",
    )
    body = clients["pm"].get(f"/api/v1/tickets/{tickets[0].reference}/").json()
    assert body["major_incident"] == incident["id"]
    assert "county-general" not in str(body)
    assert clients["pm"].get(f"/api/v1/tickets/{tickets[1].reference}/").status_code == 404


def test_the_broadcast_fires_each_linked_tickets_comment_webhook(clients, tickets, site):
    from portal.api.models import WebhookEndpoint

    WebhookEndpoint.objects.create(
        site=site, url="https://hooks.example/rx", events=["comment.created"]
    )
    incident = declare(clients)
    clients["staff"].post(
        f"{URL}{incident['id']}/tickets/", {"tickets": [tickets[0].reference]}, format="json"
    )
    clients["staff"].post(f"{URL}{incident['id']}/updates/", {"body": "Restoring."}, format="json")
    hook = Notification.objects.get(channel="webhook", event="comment.created")
    assert hook.ticket_id == tickets[0].pk
