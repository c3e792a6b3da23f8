import hashlib
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from portal.api.models import ApiToken
from portal.api.services import api_token_issue, api_token_revoke
from tests.tickets.factories import SuperuserFactory

LIST = "/api/v1/tickets/"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_issue_api_token_prints_a_token_once_and_stores_only_its_hash(people):
    out = StringIO()
    call_command("issue_api_token", "sm-it", "--name", "EHR bridge", stdout=out, stderr=StringIO())
    token = out.getvalue().strip()
    row = ApiToken.objects.get()
    assert row.name == "EHR bridge"
    assert row.user.username == "sm-it"
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.key_hash, row.prefix, row.name}
    assert bearer(token).get(LIST).status_code == 200


def test_issue_api_token_for_an_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="No user is named 'ghost'"):
        call_command("issue_api_token", "ghost", stdout=StringIO())


def test_a_revoked_token_is_refused_with_401(people):
    row, token = api_token_issue(user=people["pm"], name="old")
    api_token_revoke(token=row)
    response = bearer(token).get(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer a b", "Bearer nope", "Bearer rxp_\u00e9", "Token abc", "Basic Zm9vOmJhcg=="],
)
def test_bad_credentials_are_a_401(people, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(LIST)
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_a_token_of_a_deactivated_user_is_refused(people):
    _, token = api_token_issue(user=people["pm"], name="x")
    people["pm"].is_active = False
    people["pm"].save()
    assert bearer(token).get(LIST).status_code == 401


def test_using_a_token_records_when_it_was_last_used(people):
    row, token = api_token_issue(user=people["pm"], name="x")
    assert row.last_used_at is None
    with time_machine.travel("2026-11-25T10:00:00Z", tick=False):
        bearer(token).get(LIST)
    row.refresh_from_db()
    assert row.last_used_at is not None
    assert row.last_used_at.isoformat() == "2026-11-25T10:00:00+00:00"


def test_session_login_works_for_the_browsable_api(client, people, ticket):
    client.force_login(people["pm"])
    response = client.get(LIST, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert ticket.reference in response.content.decode()


def test_admin_creates_a_token_and_shows_it_once(client, people):
    client.force_login(SuperuserFactory())
    response = client.post(
        "/admin/api/apitoken/add/",
        {"user": people["it"].pk, "name": "Lab system"},
        follow=True,
    )
    assert response.status_code == 200
    row = ApiToken.objects.get(name="Lab system")
    shown = [str(m) for m in response.context["messages"]]
    token = next(word for m in shown for word in m.split() if word.startswith("rxp_"))
    assert hashlib.sha256(token.encode()).hexdigest() == row.key_hash
    assert bearer(token).get(LIST).status_code == 200
    # The change page never shows it again.
    page = client.get(f"/admin/api/apitoken/{row.pk}/change/").content.decode()
    assert token not in page


def test_admin_revokes_tokens(client, people):
    row, token = api_token_issue(user=people["pm"], name="x")
    client.force_login(SuperuserFactory())
    client.post(
        "/admin/api/apitoken/",
        {"action": "revoke", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert bearer(token).get(LIST).status_code == 401
