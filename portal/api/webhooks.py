"""Webhooks: signal handlers that write one outbox row per subscribed endpoint, in the same
transaction as the change, and the sender that POSTs a row to its endpoint, signed.

Signature: `X-Rx-Signature: v1=<hex HMAC-SHA256(secret, "<X-Rx-Timestamp>.<body>")>`.
Payloads carry no description and no comment body (they may hold patient data); the receiver
reads those through the API with its token, which enforces tenancy.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from escalation.signals import tickets_escalated
from sla.signals import responses_breached
from tickets import signals as ticket_signals
from tickets.models import Notification, Ticket
from tickets.outbox import notifications_enqueue, notifications_enqueue_rows

from .models import WebhookDelivery, WebhookEndpoint

CHANNEL = Notification.Channel.WEBHOOK


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _endpoint_ids(*, ticket: Ticket, event: str) -> list[str]:
    rows = WebhookEndpoint.objects.filter(site_id=ticket.site_id, is_active=True).values_list(
        "pk", "events"
    )
    return [str(pk) for pk, events in rows if event in (events or [])]


def _ticket_payload(ticket: Ticket) -> dict:
    from .serializers import TicketEventPayloadSerializer

    data = TicketEventPayloadSerializer(ticket).data
    data["url"] = settings.PORTAL_BASE_URL + reverse(
        "api-ticket-detail", kwargs={"reference": ticket.reference}
    )
    return json.loads(json.dumps(data, default=str))


def webhook_event_enqueue(
    *, ticket: Ticket, event: str, sequence: int | None = None, data: dict | None = None
) -> int:
    """Queue `event` about `ticket` for every active endpoint of its site that subscribes to it;
    returns how many endpoints. Runs in the caller's transaction. Without `sequence`, the next
    number for this ticket and event (callers hold the ticket's row lock)."""
    recipients = _endpoint_ids(ticket=ticket, event=event)
    if not recipients:
        return 0
    if sequence is None:
        last = Notification.objects.filter(ticket=ticket, event=event, channel=CHANNEL).aggregate(
            m=Max("sequence")
        )["m"]
        sequence = (last or 0) + 1
    notifications_enqueue(
        ticket=ticket,
        event=event,
        recipients=recipients,
        sequence=sequence,
        channel=CHANNEL,
        subject=event,
        body_text=_body(ticket=ticket, event=event, sequence=sequence, data=data or {}),
    )
    return len(recipients)


def _body(*, ticket: Ticket, event: str, sequence: int, data: dict, now=None) -> str:
    """The signed JSON: `id` is stable per ticket, event and occurrence, for deduplication."""
    payload = {
        "id": f"{ticket.reference}:{event}:{sequence}",
        "event": event,
        "occurred_at": (now or timezone.now()).isoformat(),
        "data": {"ticket": _ticket_payload(ticket), **data},
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def _on_ticket_filed(sender, *, ticket, actor, **kwargs):
    webhook_event_enqueue(ticket=ticket, event="ticket.created", sequence=0)


def _on_changed(field: str):
    def handler(sender, *, ticket, actor, before, after, **kwargs):
        if field == "assignee":
            before, after = _usernames(before, after)
        webhook_event_enqueue(
            ticket=ticket, event="ticket.updated", data={"changes": {field: [before, after]}}
        )

    handler.__name__ = f"_on_{field}_changed"
    return handler


def _usernames(*ids):
    from django.contrib.auth import get_user_model

    names = dict(
        get_user_model().objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "username")
    )
    return tuple(names.get(i) for i in ids)


def _comment_data(comment) -> dict:
    return {
        "comment": {
            "id": comment.pk,
            "author": comment.author.get_username(),
            "by_staff": comment.by_staff,
            "created_at": comment.created_at.isoformat(),
            "estimated_resolution_at": (
                comment.estimated_resolution_at.isoformat()
                if comment.estimated_resolution_at
                else None
            ),
        }
    }


def _on_reply_posted(sender, *, ticket, comment, actor, **kwargs):
    if not comment.public:
        return  # internal notes never leave Rx.Health
    webhook_event_enqueue(
        ticket=ticket, event="comment.created", sequence=comment.pk, data=_comment_data(comment)
    )


def _on_replies_broadcast(sender, *, tickets, comments, moved, **kwargs):
    """A major incident's update: each ticket's usual events, in one insert per batch."""
    events = [
        (ticket, "comment.created", comment.pk, _comment_data(comment))
        for ticket, comment in zip(tickets, comments, strict=True)
    ]
    events += [
        (ticket, "ticket.updated", event_id, {"changes": {"status": [before, after]}})
        for ticket, event_id, before, after in moved
    ]
    webhook_events_enqueue_many(events=events)


Endpoints = dict[int, list[tuple[str, list]]]


def _endpoints_by_site(site_ids: set[int]) -> Endpoints:
    """The active endpoints of these sites, each with the events it subscribes to, per site."""
    endpoints: Endpoints = {}
    for pk, site_id, subscribed in WebhookEndpoint.objects.filter(
        site_id__in=site_ids, is_active=True
    ).values_list("pk", "site_id", "events"):
        endpoints.setdefault(site_id, []).append((str(pk), subscribed or []))
    return endpoints


def webhook_events_enqueue_many(
    *, events: list[tuple[Ticket, str, int, dict]], endpoints: Endpoints | None = None
) -> int:
    """Queue several (ticket, event, sequence, data) at once, as the SLA scan and the
    escalation step produce them: one query for the endpoints (none when the caller looked
    them up) and one insert, whatever the number of tickets. Returns how many rows were
    queued."""
    if not events:
        return 0
    if endpoints is None:
        endpoints = _endpoints_by_site({ticket.site_id for ticket, *_ in events})
    if not endpoints:
        return 0
    now = timezone.now()
    rows = []
    for ticket, event, sequence, data in events:
        recipients = [
            pk for pk, subscribed in endpoints.get(ticket.site_id, []) if event in subscribed
        ]
        if not recipients:
            continue
        body = _body(ticket=ticket, event=event, sequence=sequence, data=data, now=now)
        rows += [
            Notification(
                ticket=ticket,
                event=event,
                sequence=sequence,
                channel=CHANNEL,
                recipient=recipient,
                subject=event,
                body_text=body,
                next_attempt_at=now,
            )
            for recipient in recipients
        ]
    notifications_enqueue_rows(rows=rows)
    return len(rows)


# The scan's two handlers see thousands of tickets in an outage: they look the endpoints up
# first and build an event only for a ticket whose site has one.


def _on_responses_breached(sender, *, tickets, **kwargs):
    endpoints = _endpoints_by_site({t.site_id for t in tickets})
    webhook_events_enqueue_many(
        events=[
            (t, "sla.breached", 0, {"breached_at": t.response_breached_at.isoformat()})
            for t in tickets
            if t.site_id in endpoints
        ],
        endpoints=endpoints,
    )


def _on_tickets_escalated(sender, *, escalations, **kwargs):
    endpoints = _endpoints_by_site({e.ticket.site_id for e in escalations})
    webhook_events_enqueue_many(
        events=[
            (
                e.ticket,
                "ticket.escalated",
                int(e.level),
                {"level": int(e.level), "automatic": bool(e.automatic)},
            )
            for e in escalations
            if e.ticket.site_id in endpoints
        ],
        endpoints=endpoints,
    )


_HANDLERS = [
    (ticket_signals.ticket_filed, _on_ticket_filed),
    (ticket_signals.status_changed, _on_changed("status")),
    (ticket_signals.impact_changed, _on_changed("impact")),
    (ticket_signals.assignee_changed, _on_changed("assignee")),
    (ticket_signals.reply_posted, _on_reply_posted),
    (ticket_signals.replies_broadcast, _on_replies_broadcast),
    (responses_breached, _on_responses_breached),
    (tickets_escalated, _on_tickets_escalated),
]


def signals_connect() -> None:
    for signal, handler in _HANDLERS:
        signal.connect(handler, dispatch_uid=f"api_webhook_{handler.__name__}", weak=False)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is a failed delivery, not a hop to somewhere else


_opener = urllib.request.build_opener(_NoRedirect)


class WebhookDeliveryError(Exception):
    pass


def webhook_send(notification: Notification) -> None:
    """POST one outbox row to its endpoint, signed; log the attempt; raise unless 2xx."""
    endpoint = WebhookEndpoint.objects.filter(pk=int(notification.recipient)).first()
    if endpoint is None or not endpoint.is_active:
        raise WebhookDeliveryError("The endpoint was deleted or deactivated.")
    body = notification.body_text.encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by the model's URLField
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "RxHealth-Webhooks/1",
            "X-Rx-Event": notification.event,
            "X-Rx-Delivery": str(notification.pk),
            "X-Rx-Timestamp": timestamp,
            "X-Rx-Signature": signature(secret=endpoint.secret, timestamp=timestamp, body=body),
        },
    )
    log = WebhookDelivery(
        notification=notification, endpoint=endpoint, event=notification.event, url=endpoint.url
    )
    started = time.monotonic()
    error: Exception | None = None
    try:
        with _opener.open(request, timeout=settings.API_WEBHOOK_TIMEOUT_SECONDS) as response:
            log.status_code = response.status
            log.response_excerpt = response.read(500).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        log.status_code = exc.code
        log.response_excerpt = _read_excerpt(exc)
        error = WebhookDeliveryError(f"The endpoint answered HTTP {exc.code}.")
    except (OSError, ValueError) as exc:
        error = WebhookDeliveryError(f"{type(exc).__name__}: {exc}")
    log.duration_ms = int((time.monotonic() - started) * 1000)
    log.ok = error is None and log.status_code is not None and 200 <= log.status_code < 300
    if error is None and not log.ok:
        error = WebhookDeliveryError(f"The endpoint answered HTTP {log.status_code}.")
    log.error = str(error or "")[:2000]
    log.save()
    if error is not None:
        raise error


def _read_excerpt(exc: Any) -> str:
    try:
        return exc.read(500).decode("utf-8", "replace")
    except Exception:
        return ""
