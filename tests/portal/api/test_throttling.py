from portal.api.services import api_token_issue
from tests.portal.api.conftest import client_for

LIST = "/api/v1/tickets/"


def test_a_token_over_its_rate_gets_429_with_retry_after(clients, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token": "3/min"}
    statuses = [clients["pm"].get(LIST).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = clients["pm"].get(LIST)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "throttled"
    # Another user's token is not affected.
    assert clients["it"].get(LIST).status_code == 200


def test_the_user_rate_covers_all_of_a_users_tokens(people, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "4/min"}
    first, second = client_for(people["pm"]), client_for(people["pm"])
    statuses = [c.get(LIST).status_code for c in (first, second, first, second, first)]
    assert statuses == [200, 200, 200, 200, 429]


def test_a_throttled_post_creates_nothing(people, settings):
    from tickets.models import Ticket

    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token": "1/min"}
    _, token = api_token_issue(user=people["pm"], name="x")
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    new = {"site": "st-marys", "kind": "general", "title": "t", "description": "d"}
    assert client.post(LIST, new, format="json").status_code == 201
    assert client.post(LIST, new, format="json").status_code == 429
    assert Ticket.objects.count() == 1
