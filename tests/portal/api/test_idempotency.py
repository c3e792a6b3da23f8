from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from portal.api.models import IdempotencyRecord
from portal.api.services import idempotency_claim, idempotency_records_purge
from sla.scan import sla_scan_run
from tickets.models import Attachment, Comment, Ticket

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


def test_a_retry_while_the_first_is_still_running_is_a_409(clients, people):
    # What a concurrent retry sees: the first request claimed the key and has not finished.
    first = idempotency_claim(user=people["pm"], key="slow", request_hash="h")
    assert first.record is not None
    second = idempotency_claim(user=people["pm"], key="slow", request_hash="h")
    assert second.conflict == "running"


def test_a_retry_while_running_through_the_api_is_a_409(clients, people):
    import hashlib
    import json

    body = json.dumps(NEW).encode()
    digest = hashlib.sha256(b"POST /api/v1/tickets/\n" + body).hexdigest()
    idempotency_claim(user=people["pm"], key="slow", request_hash=digest)
    response = clients["pm"].post(
        LIST, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="slow"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"
    assert not Ticket.objects.exists()


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
