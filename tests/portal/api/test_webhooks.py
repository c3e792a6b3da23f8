import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from escalation.signals import Escalation, tickets_escalated
from portal.api.models import WebhookDelivery, WebhookEndpoint
from sla.signals import responses_breached
from tests.tickets.factories import SuperuserFactory
from tickets import services
from tickets.models import Notification
from tickets.outbox import notifications_deliver_due

ALL_EVENTS = [
    "ticket.created",
    "ticket.updated",
    "comment.created",
    "sla.breached",
    "ticket.escalated",
]


class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it is sent."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                receiver.requests.append(
                    {"headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"thanks" if receiver.status < 300 else b"try later")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/rx"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[str]:
        return [json.loads(r["body"])["event"] for r in self.requests]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def endpoint(site, receiver):
    return WebhookEndpoint.objects.create(site=site, url=receiver.url, events=ALL_EVENTS)


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """What an integrator does on receipt (the README shows the same)."""
    signed = headers["X-Rx-Timestamp"].encode() + b"." + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Rx-Signature"])


def test_filing_through_the_api_delivers_a_signed_ticket_created_webhook(
    clients, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = clients["pm"].post(
            "/api/v1/tickets/",
            {
                "site": "st-marys",
                "kind": "incident",
                "impact": "high",
                "title": "Cabinets offline",
                "description": "Patient J. Doe could not get meds.",
            },
            format="json",
        )
    assert response.status_code == 201
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    assert verify(endpoint.secret, sent["headers"], sent["body"])
    assert not verify("whsec_wrong", sent["headers"], sent["body"])
    assert sent["headers"]["X-Rx-Event"] == "ticket.created"
    payload = json.loads(sent["body"])
    assert payload["event"] == "ticket.created"
    assert payload["data"]["ticket"]["reference"] == response.json()["reference"]
    assert payload["data"]["ticket"]["sla"]["state"] == "on_track"
    assert "description" not in payload["data"]["ticket"]
    assert b"J. Doe" not in sent["body"]
    notification = Notification.objects.get(channel="webhook")
    assert notification.status == "sent"
    assert notification.recipient == str(endpoint.pk)
    log = WebhookDelivery.objects.get()
    assert (log.ok, log.status_code, log.response_excerpt) == (True, 204, "")


def test_every_later_event_reaches_the_endpoint_once(people, ticket, endpoint, receiver):
    staff = people["staff"]
    services.ticket_update(ticket=ticket, actor=staff, status="in_progress", assignee=staff)
    services.comment_post(ticket=ticket, author=staff, body="Restarted the gateway for J. Doe")
    services.comment_post(ticket=ticket, author=staff, body="internal", public=False)
    ticket.response_breached_at = timezone.now()
    responses_breached.send(sender=None, tickets=[ticket])
    responses_breached.send(sender=None, tickets=[ticket])  # repeat
    tickets_escalated.send(
        sender=None, escalations=[Escalation(ticket=ticket, level=2, automatic=True, actor=None)]
    )
    notifications_deliver_due()
    assert sorted(receiver.events()) == sorted(
        [
            "ticket.updated",
            "ticket.updated",
            "comment.created",
            "sla.breached",
            "ticket.escalated",
        ]
    )
    payloads = {json.loads(r["body"])["id"]: json.loads(r["body"]) for r in receiver.requests}
    assert len(payloads) == 5  # every occurrence has its own id
    by_event = {p["event"]: p for p in payloads.values()}
    assert by_event["comment.created"]["data"]["comment"]["author"] == "agent.lee"
    assert "body" not in by_event["comment.created"]["data"]["comment"]
    assert by_event["ticket.escalated"]["data"]["level"] == 2
    changes = [p["data"]["changes"] for p in payloads.values() if p["event"] == "ticket.updated"]
    assert {"assignee": [None, "agent.lee"]} in changes
    assert {"status": ["new", "in_progress"]} in changes
    assert all(verify(endpoint.secret, r["headers"], r["body"]) for r in receiver.requests)


def test_only_subscribed_active_endpoints_of_the_tickets_site_are_called(
    people, site, other_site, receiver
):
    WebhookEndpoint.objects.create(site=site, url=receiver.url + "?a", events=["sla.breached"])
    WebhookEndpoint.objects.create(
        site=site, url=receiver.url + "?b", events=ALL_EVENTS, is_active=False
    )
    WebhookEndpoint.objects.create(site=other_site, url=receiver.url + "?c", events=ALL_EVENTS)
    services.ticket_create(
        actor=people["pm"], site=site, kind="general", title="t", description="d"
    )
    notifications_deliver_due()
    assert receiver.requests == []


def test_a_failed_delivery_is_logged_and_sent_again_from_admin(
    client, people, ticket, site, receiver, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.create(site=site, url=receiver.url, events=["comment.created"])
    receiver.status = 503
    services.comment_post(ticket=ticket, author=people["pm"], body="hello")
    notifications_deliver_due()
    notification = Notification.objects.get(channel="webhook")
    assert notification.status == "pending"
    assert "503" in notification.last_error
    failed = WebhookDelivery.objects.get()
    assert (failed.ok, failed.status_code, failed.response_excerpt) == (False, 503, "try later")

    receiver.status = 200
    client.force_login(SuperuserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/api/webhookdelivery/",
            {"action": "send_again", "_selected_action": [failed.pk]},
        )
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.status == "sent"
    assert WebhookDelivery.objects.filter(ok=True).count() == 1
    assert len(receiver.requests) == 2
    # The delivery log lists both attempts.
    page = client.get("/admin/api/webhookdelivery/").content.decode()
    assert ticket.reference in page


def test_an_unreachable_endpoint_is_a_failed_attempt_not_a_crash(people, ticket, site):
    WebhookEndpoint.objects.create(
        site=site, url="http://127.0.0.1:9/nothing-listens", events=["comment.created"]
    )
    services.comment_post(ticket=ticket, author=people["pm"], body="hello")
    notifications_deliver_due()
    webhook = Notification.objects.get(channel=Notification.Channel.WEBHOOK)
    assert (webhook.status, webhook.attempts) == (Notification.Status.PENDING, 1)
    log = WebhookDelivery.objects.get()
    assert not log.ok
    assert log.status_code is None
    assert log.error


def test_a_redirect_is_not_followed(people, ticket, site, receiver):
    receiver.status = 302
    WebhookEndpoint.objects.create(site=site, url=receiver.url, events=["comment.created"])
    services.comment_post(ticket=ticket, author=people["pm"], body="hello")
    notifications_deliver_due()
    webhook = Notification.objects.get(channel=Notification.Channel.WEBHOOK)
    assert (webhook.status, webhook.attempts) == (Notification.Status.PENDING, 1)
    assert WebhookDelivery.objects.get().status_code == 302


def test_admin_configures_an_endpoint_with_events(client, site):
    client.force_login(SuperuserFactory())
    response = client.post(
        "/admin/api/webhookendpoint/add/",
        {
            "site": site.pk,
            "url": "https://ehr.st-marys.example/hooks",
            "secret": "whsec_test",
            "events": ["ticket.created", "sla.breached"],
            "is_active": "on",
            "description": "",
        },
    )
    assert response.status_code == 302, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["ticket.created", "sla.breached"]
    refused = client.post(
        "/admin/api/webhookendpoint/add/",
        {"site": site.pk, "url": "ftp://x.example/", "secret": "s", "events": []},
    )
    assert refused.status_code == 200
    assert WebhookEndpoint.objects.count() == 1


def test_a_change_that_rolls_back_leaves_no_webhook_behind(clients, endpoint, receiver):
    from tickets.errors import DomainError
    from tickets.signals import ticket_filed

    def veto(sender, **kwargs):
        raise DomainError("Refused by a rule that runs after the webhook was queued.")

    ticket_filed.connect(veto, dispatch_uid="test_veto")
    try:
        response = clients["pm"].post(
            "/api/v1/tickets/",
            {"site": "st-marys", "kind": "general", "title": "t", "description": "d"},
            format="json",
        )
    finally:
        ticket_filed.disconnect(dispatch_uid="test_veto")
    assert response.status_code == 400
    assert not Notification.objects.exists()
    notifications_deliver_due()
    assert receiver.requests == []
