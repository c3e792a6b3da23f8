import hashlib
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from portal.api.models import IdempotencyRecord
from portal.api.services import (
    api_token_issue,
    idempotency_claim,
    idempotency_hold,
    idempotency_records_purge,
)
from sla.scan import sla_scan_run
from tests.brokers import broker_at, unreachable_broker_url
from tests.portal.api.conftest import client_for
from tests.waiting import held_elsewhere
from tickets.models import Attachment, Comment, Ticket
from tickets.outbox import notifications_deliver_due

LIST = "/api/v1/tickets/"
NEW = {"site": "st-marys", "kind": "general", "title": "VPN", "description": "VPN drops."}


def post(client, payload, key, url=LIST):
    return client.post(url, payload, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_with_the_same_key_and_body_returns_the_first_ticket_and_creates_nothing(
    clients,
):
    first = post(clients["pm"], NEW, "key-1")
    again = post(clients["pm"], NEW, "key-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(clients):
    post(clients["pm"], NEW, "key-1")
    response = post(clients["pm"], {**NEW, "title": "Other"}, "key-1")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1


def test_keys_are_per_user(clients):
    post(clients["pm"], NEW, "shared")
    response = post(clients["it"], NEW, "shared")
    assert response.status_code == 201
    assert Ticket.objects.count() == 2


def test_the_same_key_on_another_endpoint_is_a_422(clients, ticket):
    post(clients["pm"], NEW, "k")
    response = post(clients["pm"], NEW, "k", url=f"{LIST}{ticket.reference}/comments/")
    assert response.status_code == 422


def request_digest(payload) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, hashlib.sha256(b"POST /api/v1/tickets/\n" + body).hexdigest()


def test_a_key_left_unfinished_by_a_request_that_died_runs_again_at_once(clients, people):
    # What a request killed before it committed leaves behind: the claim, nothing else.
    body, digest = request_digest(NEW)
    assert idempotency_claim(user=people["pm"], key="died", request_hash=digest).record
    response = clients["pm"].post(
        LIST, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="died"
    )
    assert response.status_code == 201
    assert Ticket.objects.count() == 1
    again = clients["pm"].post(
        LIST, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="died"
    )
    assert again["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_is_still_running_is_a_409(clients, people):
    body, digest = request_digest(NEW)
    record = idempotency_claim(user=people["pm"], key="slow", request_hash=digest).record
    assert record is not None

    def first_request_still_running():  # its transaction holds the key
        assert idempotency_hold(record=record).record is not None

    with held_elsewhere(first_request_still_running):
        response = clients["pm"].post(
            LIST, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="slow"
        )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"
    assert not Ticket.objects.exists()


# A client process that files a ticket with a key and is killed (SIGKILL) at a chosen moment.
KILLED_CLIENT = """
import os, signal, sys
import django
django.setup()
from django.db import transaction
from rest_framework.test import APIClient
from tickets import signals

def die(**kwargs):
    kill = lambda: os.kill(os.getpid(), signal.SIGKILL)
    if sys.argv[2] == "after-commit":
        transaction.on_commit(kill)
    else:
        kill()

signals.ticket_filed.connect(die)
client = APIClient()
client.credentials(HTTP_AUTHORIZATION="Bearer " + sys.argv[1])
client.post("/api/v1/tickets/", sys.argv[3], content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="killed")
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("moment", "replayed"), [("before-commit", False), ("after-commit", True)])
def test_a_retry_after_the_first_request_was_killed_gives_one_ticket(people, moment, replayed):
    _, token = api_token_issue(user=people["pm"], name="killed")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:"
        f"{db['PORT']}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "ALLOWED_HOSTS": "testserver",
    }
    body, _ = request_digest(NEW)
    child = subprocess.run(
        [sys.executable, "-c", KILLED_CLIENT, token, moment, body.decode()],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert Ticket.objects.count() == (1 if replayed else 0)

    retry = client_for(people["pm"]).post(
        LIST, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="killed"
    )
    assert retry.status_code == 201
    assert (retry.get("Idempotent-Replayed") == "true") is replayed
    assert Ticket.objects.count() == 1


def test_retries_while_the_broker_is_down_answer_201_and_file_one_ticket_with_one_receipt(
    clients, people, django_capture_on_commit_callbacks
):
    with broker_at(unreachable_broker_url()), django_capture_on_commit_callbacks(execute=True):
        answers = [post(clients["pm"], NEW, "outage-1") for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["reference"] for a in answers}) == 1
    assert Ticket.objects.count() == 1
    assert mail.outbox == []

    notifications_deliver_due()  # the sweep, once the broker is back
    receipts = [m for m in mail.outbox if m.to == [people["pm"].email]]
    assert len(receipts) == 1


def test_a_refused_request_is_replayed_as_refused(clients):
    bad = {**NEW, "kind": "incident"}  # no impact
    first = post(clients["pm"], bad, "k")
    again = post(clients["pm"], bad, "k")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


def test_comments_and_attachments_are_idempotent_too(clients, ticket):
    url = f"{LIST}{ticket.reference}/comments/"
    assert post(clients["pm"], {"body": "hi"}, "c1", url=url).status_code == 201
    assert post(clients["pm"], {"body": "hi"}, "c1", url=url).status_code == 201
    assert Comment.objects.count() == 1
    url = f"{LIST}{ticket.reference}/attachments/"
    for _ in range(2):
        upload = SimpleUploadedFile("notes.txt", b"ward 4 printer log")
        response = clients["pm"].post(
            url, {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="a1"
        )
        assert response.status_code == 201
    assert Attachment.objects.count() == 1
    upload = SimpleUploadedFile("notes.txt", b"another content")
    response = clients["pm"].post(
        url, {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="a1"
    )
    assert response.status_code == 422


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\tkey", "caf\u00e9"])
def test_a_malformed_key_is_a_400(clients, key):
    response = post(clients["pm"], NEW, key)
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_keys_expire_after_24_hours_and_are_purged_by_the_scan(clients):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post(clients["pm"], NEW, "day-old")
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        assert post(clients["pm"], NEW, "day-old")["Idempotent-Replayed"] == "true"
    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        counts = sla_scan_run()
        assert counts["api_idempotency_purged"] == 1
        assert not IdempotencyRecord.objects.exists()
        response = post(clients["pm"], NEW, "day-old")
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response
    assert Ticket.objects.count() == 2


def test_an_expired_key_is_reusable_even_before_the_purge(clients):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        post(clients["pm"], NEW, "k")
    with time_machine.travel(start + timedelta(days=2), tick=False):
        assert post(clients["pm"], {**NEW, "title": "new"}, "k").status_code == 201
    assert idempotency_records_purge() == 0
