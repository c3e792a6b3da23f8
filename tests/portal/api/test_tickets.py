import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.portal.helpers import png
from tests.tickets.factories import TicketFactory
from tickets import services
from tickets.models import Ticket, TicketEvent

LIST = "/api/v1/tickets/"
NEW_INCIDENT = {
    "site": "st-marys",
    "kind": "incident",
    "impact": "high",
    "title": "Label printers down",
    "description": "No wristbands can be printed in the ED.",
}


def detail(ticket) -> str:
    return f"/api/v1/tickets/{ticket.reference}/"


@pytest.mark.parametrize(
    ("role", "expected"),
    [("pm", 200), ("it", 200), ("viewer", 200), ("staff", 200), ("outsider", 200)],
)
def test_list_shows_only_the_callers_sites(clients, ticket, other_ticket, role, expected):
    response = clients[role].get(LIST)
    assert response.status_code == expected
    refs = {row["reference"] for row in response.json()["results"]}
    if role == "staff":
        assert refs == {ticket.reference, other_ticket.reference}
    elif role == "outsider":
        assert refs == {other_ticket.reference}
    else:
        assert refs == {ticket.reference}


def test_anonymous_gets_401_with_a_bearer_challenge(clients, ticket):
    for response in (
        clients["anonymous"].get(LIST),
        clients["anonymous"].get(detail(ticket)),
        clients["anonymous"].post(LIST, NEW_INCIDENT, format="json"),
    ):
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("role", "expected"),
    [("pm", 200), ("it", 200), ("viewer", 200), ("staff", 200), ("outsider", 404)],
)
def test_detail_of_a_ticket_is_404_outside_the_callers_sites(clients, ticket, role, expected):
    response = clients[role].get(detail(ticket))
    assert response.status_code == expected
    if expected == 404:
        assert response.json() == {"status": 404, "code": "not_found", "detail": "Not found."}


def test_ticket_json_carries_the_contract_fields_and_the_sla_block(clients, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(sla_state="at_risk", escalation_level=2)
    body = clients["pm"].get(detail(ticket)).json()
    for field in (
        "reference",
        "site",
        "kind",
        "impact",
        "status",
        "title",
        "description",
        "created_at",
    ):
        assert field in body
    assert body["site"] == "st-marys"
    assert set(body["sla"]) >= {
        "response_due_at",
        "responded_at",
        "response_breached",
        "next_update_due_at",
        "estimated_resolution_at",
        "escalation_level",
        "state",
    }
    assert body["sla"]["state"] == "at_risk"
    assert body["sla"]["escalation_level"] == 2
    assert body["sla"]["response_breached"] is False


@pytest.mark.parametrize(
    ("role", "expected"),
    [("pm", 201), ("it", 201), ("viewer", 403), ("staff", 201), ("outsider", 400)],
)
def test_filing_by_role(clients, site, role, expected):
    response = clients[role].post(LIST, NEW_INCIDENT, format="json")
    assert response.status_code == expected, response.content
    count = Ticket.objects.filter(title="Label printers down").count()
    if expected == 201:
        body = response.json()
        assert body["reference"].startswith("RX-")
        assert body["status"] == "new"
        assert body["site"] == "st-marys"
        assert count == 1
    else:
        assert count == 0
    if role == "outsider":
        # Another site's slug is refused as if it did not exist.
        assert response.json()["fields"] == {"site": ["None of your sites has this slug."]}


def test_staff_files_on_behalf_of_a_site_member_but_not_of_another_sites(clients, people):
    ok = clients["staff"].post(LIST, {**NEW_INCIDENT, "reporter": "sm-it"}, format="json")
    assert ok.status_code == 201
    assert ok.json()["reporter"] == "sm-it"
    refused = clients["staff"].post(
        LIST, {**NEW_INCIDENT, "title": "x", "reporter": "cg-pm"}, format="json"
    )
    assert refused.status_code == 400
    assert "reporter" in refused.json()["fields"]
    assert not Ticket.objects.filter(title="x").exists()


def test_a_site_contact_cannot_name_another_reporter(clients):
    response = clients["pm"].post(LIST, {**NEW_INCIDENT, "reporter": "sm-it"}, format="json")
    assert response.status_code == 400
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {**NEW_INCIDENT, "title": ""},
        {**NEW_INCIDENT, "title": "x" * 201},
        {**NEW_INCIDENT, "title": "a\x00b"},
        {**NEW_INCIDENT, "description": "d" * 50_001},
        {**NEW_INCIDENT, "description": 12},
        {**NEW_INCIDENT, "title": ["a"]},
        {**NEW_INCIDENT, "kind": "outage"},
        {**NEW_INCIDENT, "impact": ""},
        {**NEW_INCIDENT, "kind": "general"},
        {**NEW_INCIDENT, "site": None},
        {**NEW_INCIDENT, "site": "x" * 5000},
        {**NEW_INCIDENT, "site": {"slug": "st-marys"}},
        [],
        "text",
        {},
    ],
)
def test_bad_input_on_filing_is_a_400_with_field_errors(clients, payload):
    response = clients["pm"].post(LIST, payload, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == 400
    assert body["detail"]
    assert not Ticket.objects.exists()


def test_malformed_json_is_a_400(clients):
    response = clients["pm"].post(LIST, b'{"title": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_nul_bytes_in_json_are_a_400(clients):
    body = b'{"site": "st-marys", "kind": "general", "title": "a\\u0000", "description": "d"}'
    response = clients["pm"].post(LIST, body, content_type="application/json")
    assert response.status_code == 400
    assert "title" in response.json()["fields"]


@pytest.mark.parametrize(
    ("role", "payload", "expected"),
    [
        ("staff", {"status": "in_progress", "impact": "medium", "assignee": "agent.lee"}, 200),
        ("pm", {"status": "resolved"}, 200),
        ("pm", {"impact": "low"}, 403),
        ("it", {"assignee": "agent.lee"}, 403),
        ("viewer", {"status": "resolved"}, 403),
        ("outsider", {"status": "resolved"}, 404),
        ("anonymous", {"status": "resolved"}, 401),
    ],
)
def test_patch_by_role(clients, ticket, role, payload, expected):
    response = clients[role].patch(detail(ticket), payload, format="json")
    assert response.status_code == expected, response.content
    ticket.refresh_from_db()
    if expected == 200:
        for field, value in payload.items():
            assert response.json()[field] == value
        assert ticket.status == payload.get("status", ticket.status)
    else:
        assert ticket.status == "new"
        assert ticket.impact == "high"
        assert ticket.assignee is None


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"status": "done"},
        {"assignee": "sm-pm"},
        {"assignee": "nobody"},
        {"impact": 3},
        {"status": "a\x00"},
    ],
)
def test_bad_patches_are_a_400_and_change_nothing(clients, ticket, payload):
    response = clients["staff"].patch(detail(ticket), payload, format="json")
    assert response.status_code == 400, response.content
    assert not TicketEvent.objects.filter(ticket=ticket).exclude(action="created").exists()


def test_an_illegal_status_move_is_a_409(clients, ticket):
    clients["staff"].patch(detail(ticket), {"status": "closed"}, format="json")
    response = clients["pm"].patch(detail(ticket), {"status": "resolved"}, format="json")
    assert response.status_code == 409
    assert response.json()["fields"] == {"status": [response.json()["detail"]]}


def test_put_and_delete_are_not_offered(clients, ticket):
    assert clients["staff"].put(detail(ticket), {}, format="json").status_code == 405
    assert clients["staff"].delete(detail(ticket)).status_code == 405


def test_filters_narrow_the_list(clients, site, other_site, people):
    TicketFactory(site=site, kind="general", status="new", sla_state="on_track")
    TicketFactory(site=site, kind="incident", impact="low", status="in_progress")
    TicketFactory(site=site, kind="task", status="resolved", sla_state="breached")
    TicketFactory(site=other_site, kind="general")

    def refs(query, role="pm"):
        response = clients[role].get(LIST + query)
        assert response.status_code == 200, response.content
        return [row["kind"] for row in response.json()["results"]]

    assert refs("?kind=incident") == ["incident"]
    assert refs("?impact=low") == ["incident"]
    assert sorted(refs("?status=new&status=resolved")) == ["general", "task"]
    assert refs("?sla_state=breached") == ["task"]
    assert len(refs("?site=st-marys")) == 3
    assert refs("?site=county-general") == []  # not visible: empty, not an error
    assert len(refs("?site=county-general", role="staff")) == 1


@pytest.mark.parametrize(
    "query",
    [
        "?status=bogus",
        "?kind=1",
        "?sla_state=%00",
        "?site=" + "x" * 100,
        "?site=a%00b",
        "?created_after=tomorrow",
        "?updated_after=99999-01-01T00:00:00Z",
        "?created_after=9999-12-31T23:59:59-12:00",
    ],
)
def test_bad_filters_are_a_400(clients, ticket, query):
    response = clients["pm"].get(LIST + query)
    assert response.status_code == 400, response.content


def test_date_filters_find_what_changed_since(clients, site):
    old = TicketFactory(site=site)
    new = TicketFactory(site=site)
    Ticket.objects.filter(pk=old.pk).update(
        created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z"
    )
    for query in ("?created_after=2026-06-01T00:00:00Z", "?updated_after=2026-06-01T00:00Z"):
        response = clients["pm"].get(LIST + query)
        assert [r["reference"] for r in response.json()["results"]] == [new.reference]
    response = clients["pm"].get(LIST + "?created_before=2026-06-01T00:00:00%2B02:00")
    assert [r["reference"] for r in response.json()["results"]] == [old.reference]
    # An offset the format allows but PostgreSQL does not is converted, not a 500.
    response = clients["pm"].get(LIST + "?created_after=2025-03-05T09:45:24-21:57")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_ordering(clients, site):
    a = TicketFactory(site=site, response_due_at="2026-01-02T00:00:00Z")
    b = TicketFactory(site=site, response_due_at="2026-01-01T00:00:00Z")
    response = clients["staff"].get(LIST + "?ordering=response_due_at")
    assert [r["reference"] for r in response.json()["results"]] == [b.reference, a.reference]
    response = clients["staff"].get(LIST + "?ordering=-response_due_at")
    assert [r["reference"] for r in response.json()["results"]] == [a.reference, b.reference]
    assert clients["staff"].get(LIST + "?ordering=password").status_code == 200


def test_page_size_is_capped_and_pages_past_the_end_give_the_last(clients, site, settings):
    settings.API_MAX_PAGE_SIZE = 3
    TicketFactory.create_batch(5, site=site)
    response = clients["pm"].get(LIST + "?page_size=1000")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    assert response.json()["count"] == 5
    last = clients["pm"].get(LIST + "?page_size=3&page=99999")
    assert last.status_code == 200
    assert len(last.json()["results"]) == 2


def test_counting_stops_at_the_limit_but_every_page_stays_reachable(clients, site, settings):
    settings.API_COUNT_LIMIT = 3
    made = TicketFactory.create_batch(7, site=site)
    newest_first = [t.reference for t in reversed(made)]

    def page(query):
        response = clients["pm"].get(LIST + "?page_size=2" + query)
        assert response.status_code == 200, response.content
        return response.json()

    first = page("")
    assert (first["count"], first["count_capped"]) == (3, True)
    assert first["next"].endswith("page=2&page_size=2") or "page=2" in first["next"]
    assert first["previous"] is None
    fourth = page("&page=4")
    assert [r["reference"] for r in fourth["results"]] == newest_first[6:]
    assert fourth["next"] is None
    assert "page=3" in fourth["previous"]
    assert page("&page=99")["results"] == fourth["results"]
    assert page("&page=last")["results"] == fourth["results"]
    walked = []
    url = LIST + "?page_size=2"
    while url:
        body = clients["pm"].get(url).json()
        walked += [r["reference"] for r in body["results"]]
        url = body["next"]
    assert walked == newest_first


@pytest.mark.parametrize(
    "query",
    ["?page=0", "?page=-1", "?page=abc", "?page=" + "9" * 40, "?page_size=-5", "?page_size=x"],
)
def test_bad_page_numbers_are_a_400(clients, ticket, query):
    response = clients["pm"].get(LIST + query)
    assert response.status_code == 400
    assert response.json()["fields"]


def test_list_query_count_does_not_grow_with_the_page_size(clients, site, people):
    for ticket in TicketFactory.create_batch(30, site=site, assignee=people["staff"]):
        services.attachment_add(ticket=ticket, uploaded_by=people["it"], file=png())

    def queries(size):
        with CaptureQueriesContext(connection) as ctx:
            response = clients["pm"].get(f"{LIST}?page_size={size}")
        results = response.json()["results"]
        assert len(results) == size
        assert all(len(t["attachments"]) == 1 for t in results)
        return len(ctx.captured_queries)

    queries(1)  # the token's first use of the minute writes its last-used time
    # The token, the count, the page, and the page's files.
    assert queries(2) == queries(30) <= 4


def test_detail_query_count_is_small(clients, ticket):
    clients["pm"].get(detail(ticket))
    with CaptureQueriesContext(connection) as ctx:
        clients["pm"].get(detail(ticket))
    assert len(ctx.captured_queries) <= 4


@pytest.mark.parametrize("path", ["RX-%00/", "a" * 300 + "/", "RX-1/nothing/", "../../etc/"])
def test_unknown_api_paths_are_a_json_404(clients, path):
    response = clients["pm"].get(LIST + path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("key", [None, "big-1"])
def test_a_huge_body_is_a_400(clients, key):
    body = (
        '{"site": "st-marys", "kind": "general", "title": "t", "description": "%s"}'
        % ("x" * 3_000_000)
    ).encode()
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = clients["pm"].post(LIST, body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert not Ticket.objects.exists()
