"""Bad input answers a clear 4xx in the API's format, writes nothing and reveals nothing about
other sites or staff."""

from datetime import UTC, datetime, timedelta

import time_machine
from rest_framework.test import APIClient

from tests.portal.api.conftest import client_for
from tickets.models import Comment, Ticket

LIST = "/api/v1/tickets/"
DEEP = "[" * 1000 + "]" * 1000


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    return body


def test_json_nested_a_thousand_deep_is_a_400_and_files_nothing(clients, ticket):
    before = (Ticket.objects.count(), Comment.objects.count())
    pm = clients["pm"]
    created = pm.post(LIST, DEEP, content_type="application/json")
    assert_error(created, 400, "parse_error")
    commented = pm.post(
        f"{LIST}{ticket.reference}/comments/",
        '{"body": ' + DEEP + "}",
        content_type="application/json",
    )
    assert_error(commented, 400, "parse_error")
    assert (Ticket.objects.count(), Comment.objects.count()) == before


def test_unknown_paths_and_unroutable_references_are_json_404s_for_every_method(people):
    client = client_for(people["pm"])
    client.handler.enforce_csrf_checks = True  # as a real client gets it
    for method, path in [
        ("post", "/api/v1/nothing/"),
        ("get", "/api/v1/nothing/"),
        ("patch", "/api/v1/tickets/%C2%84/"),
        ("post", "/api/v1/tickets/null,null/comments/"),
    ]:
        response = getattr(client, method)(path, {}, format="json")
        assert_error(response, 404, "not_found")


def test_a_huge_page_size_gives_the_maximum_page(clients, ticket, settings):
    settings.API_MAX_PAGE_SIZE = 3
    response = clients["pm"].get(LIST, {"page_size": "99999999999999"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1
    assert_error(clients["pm"].get(LIST, {"page_size": "0"}), 400, "invalid")
    assert_error(clients["pm"].get(LIST, {"page_size": "-5"}), 400, "invalid")


def test_options_on_another_sites_ticket_is_a_404_like_get(clients, other_ticket, ticket):
    path = f"{LIST}{other_ticket.reference}/"
    assert_error(clients["pm"].options(path), 404, "not_found")
    assert clients["pm"].options(f"{LIST}{ticket.reference}/").status_code == 200


def test_a_pm_assigning_gets_the_same_403_whether_the_staff_name_exists_or_not(
    clients, ticket, people
):
    path = f"{LIST}{ticket.reference}/"
    real = clients["pm"].patch(path, {"assignee": people["staff"].username}, format="json")
    made_up = clients["pm"].patch(path, {"assignee": "no-such-staff"}, format="json")
    assert real.status_code == made_up.status_code == 403
    assert real.json() == made_up.json()
    ticket.refresh_from_db()
    assert ticket.assignee is None
    # Staff still get the clear 400 for a name that is nobody.
    staff = clients["staff"].patch(path, {"assignee": "no-such-staff"}, format="json")
    assert_error(staff, 400)


def test_an_idle_session_on_the_api_answers_401_not_a_redirect(people, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    start = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    client = APIClient()
    with time_machine.travel(start, tick=False):
        client.force_login(people["pm"])
        assert client.get(LIST).status_code == 200
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert_error(client.get(LIST), 401)
