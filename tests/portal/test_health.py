import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.brokers import broker_at, unreachable_broker_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_stays_200_with_a_warning_when_the_broker_is_down(client):
    url = unreachable_broker_url()
    with broker_at(url):
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["broker"] == "unreachable"
    assert body["warnings"]
    port = url.rsplit(":", 1)[1].split("/")[0]
    assert port not in response.content.decode()


# Requests in a fresh process whose DATABASE_URL points where no PostgreSQL listens.
DATABASE_DOWN = """
import json
import django
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
out = {}
for name, path, headers in [
    ("health", "/healthz", {}),
    ("health-cookie", "/healthz", {"HTTP_COOKIE": "sessionid=0123456789abcdefghijklmnopqrstuv"}),
    ("api", "/api/v1/tickets/", {"HTTP_AUTHORIZATION": "Bearer rxp_0123456789abcdef"}),
    ("page", "/", {"HTTP_COOKIE": "sessionid=0123456789abcdefghijklmnopqrstuv"}),
]:
    r = client.get(path, **headers)
    out[name] = [r.status_code, r.get("Content-Type"), r.get("Retry-After"), r.content.decode()]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def database_down():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL="postgres://portal-user:s3cret-pw@127.0.0.1:9/portal-db-name",
        ALLOWED_HOSTS="testserver",
    )
    result = subprocess.run(
        [sys.executable, "-c", DATABASE_DOWN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", ["health", "health-cookie"])
def test_healthz_answers_503_naming_the_database_without_its_address(database_down, case):
    status, _, _, body = database_down[case]
    assert status == 503
    assert json.loads(body)["status"] == "error"
    assert json.loads(body)["database"] == "unreachable"
    for secret in ("127.0.0.1", "portal-user", "s3cret-pw", "portal-db-name", ":9"):
        assert secret not in body


def test_the_api_answers_503_json_with_retry_after_when_the_database_is_down(database_down):
    status, content_type, retry_after, body = database_down["api"]
    assert status == 503
    assert content_type == "application/json"
    assert int(retry_after) > 0
    assert json.loads(body)["code"] == "service_unavailable"
    assert "127.0.0.1" not in body


def test_pages_show_the_friendly_page_when_the_database_is_down(database_down):
    status, content_type, retry_after, body = database_down["page"]
    assert status == 503
    assert content_type.startswith("text/html")
    assert int(retry_after) > 0
    assert "briefly unavailable" in body
    assert "Traceback" not in body and "127.0.0.1" not in body
