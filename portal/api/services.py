"""Writes of the integrator API: tokens, idempotency records, webhook re-sends."""

import hashlib
import secrets
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from history.context import history_actor
from tickets.actors import Actor
from tickets.models import Notification
from tickets.outbox import notifications_requeue

from .models import ApiToken, IdempotencyRecord, WebhookDelivery

TOKEN_PREFIX = "rxp_"  # noqa: S105 - a label, not a secret
IDEMPOTENCY_TTL = timedelta(hours=24)
# A token's last use is written at most this often, so reads do not become writes.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def api_token_issue(
    *, user: Actor, name: str = "", actor: Actor | None = None, actor_label: str = ""
) -> tuple[ApiToken, str]:
    """Create a token for the user; returns the row and the token, which is never stored.
    The configuration history records `actor` (or `actor_label`, e.g. the command) as issuer;
    without either, the request's user."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with _as(actor, actor_label):
        row = ApiToken.objects.create(
            user=user,
            name=(name or "API token").strip()[:100],
            prefix=token[:12],
            key_hash=token_hash(token),
        )
    return row, token


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Actor | None = None) -> ApiToken:
    """Stop a token from working, keeping it on record (and who revoked it, in the history)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        with _as(actor, ""):
            token.save(update_fields=["revoked_at"])
    return token


def _as(actor: Actor | None, label: str) -> AbstractContextManager:
    return history_actor(actor, label=label) if actor is not None or label else nullcontext()


def api_token_used(*, token: ApiToken, now: datetime | None = None) -> None:
    """Record that the token was used (at most once a minute)."""
    now = now or timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_GRANULARITY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


@dataclass
class IdempotencyClaim:
    """What to do with a request carrying an Idempotency-Key."""

    record: IdempotencyRecord | None  # set when this request may run: finish it in its transaction
    replay: IdempotencyRecord | None = None  # set when the first request committed
    conflict: str = ""  # "mismatch" (422) or "running" (409)


# PostgreSQL's lock_not_available: another live request holds the key's row.
_LOCK_NOT_AVAILABLE = "55P03"


def idempotency_claim(*, user: Actor, key: str, request_hash: str) -> IdempotencyClaim:
    """Find or make the key's record, or say why the request may not run. Commits at once
    (outside any request transaction) so a concurrent retry finds the record."""
    now = timezone.now()
    for _ in range(2):
        existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is not None and existing.expires_at <= now:
            IdempotencyRecord.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            existing = None
        if existing is None:
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        user=user,
                        key=key,
                        request_hash=request_hash,
                        expires_at=now + IDEMPOTENCY_TTL,
                    )
                return IdempotencyClaim(record=record)
            except IntegrityError:
                continue  # a concurrent request made it first: look again
        if existing.request_hash != request_hash:
            return IdempotencyClaim(record=None, conflict="mismatch")
        if existing.response_status is not None:
            return IdempotencyClaim(record=None, replay=existing)
        # Unfinished: either still running or died before committing; `idempotency_hold` says.
        return IdempotencyClaim(record=existing)
    return IdempotencyClaim(record=None, conflict="running")


def idempotency_hold(*, record: IdempotencyRecord) -> IdempotencyClaim:
    """Lock the key's record for the rest of the caller's transaction, in which the request
    runs and `idempotency_finish` stores its response, so both commit or neither does. A
    request that died before committing leaves the key free at once (its lock goes with its
    connection); one that committed is replayed; one still running makes this "running".
    (SQLite has no row locks; its write transactions run one at a time.)"""
    try:
        with transaction.atomic():  # a savepoint: a refused lock leaves the caller's usable
            held = (
                IdempotencyRecord.objects.select_for_update(nowait=True)
                .filter(pk=record.pk)
                .first()
            )
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        return IdempotencyClaim(record=None, conflict="running")
    if held is None:  # expired and purged in between: the client may simply retry
        return IdempotencyClaim(record=None, conflict="running")
    if held.response_status is not None:
        return IdempotencyClaim(record=None, replay=held)
    return IdempotencyClaim(record=held)


def idempotency_finish(*, record: IdempotencyRecord, status: int, body: Any) -> None:
    """Store the response the first request gave, in that request's transaction."""
    record.response_status = status
    record.response_body = body
    record.save(update_fields=["response_status", "response_body"])


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Delete idempotency records older than 24 hours; returns how many."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=now).delete()
    return deleted


@transaction.atomic
def webhook_deliveries_resend(*, deliveries: Iterable[WebhookDelivery]) -> int:
    """Queue the messages of these delivery attempts to be sent again; returns how many."""
    ids = {d.notification_id for d in deliveries}
    return notifications_requeue(
        notifications=Notification.objects.filter(pk__in=ids, channel=Notification.Channel.WEBHOOK)
    )
