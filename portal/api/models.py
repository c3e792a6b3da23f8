"""The integrator API's own records: tokens, idempotency keys, webhook endpoints and the log of
webhook deliveries."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

WEBHOOK_EVENTS = (
    ("ticket.created", "A ticket was filed"),
    ("ticket.updated", "A ticket's status, impact or assignee changed"),
    ("comment.created", "A public comment was posted"),
    ("sla.breached", "The first response target was missed"),
    ("ticket.escalated", "A ticket reached a higher escalation level"),
)
WEBHOOK_EVENT_NAMES = tuple(name for name, _ in WEBHOOK_EVENTS)


class ApiToken(models.Model):
    """A bearer token acting as its user. Only a SHA-256 hash of the token is stored; the
    token itself is shown once, when it is issued."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'EHR integration'.")
    # The first characters of the token, so people can tell their tokens apart.
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) for {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an `Idempotency-Key`, kept for 24 hours so a retry
    with the same key and body gets the same answer and creates nothing."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused.
    request_hash = models.CharField(max_length=64)
    # Null while the first request is still running.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_once_per_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} by {self.user_id}"


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL of a site's system that receives the site's events, signed with its secret."""

    site = models.ForeignKey(
        "tickets.ClientSite", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500, help_text="http or https URL that receives a POST.")
    secret = models.CharField(
        max_length=100,
        default=webhook_secret_new,
        help_text="Shared with the receiver, which checks the X-Rx-Signature header with it.",
    )
    events = models.JSONField(default=list, blank=True, help_text="Event names it receives.")
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site__name", "url"]
        indexes = [models.Index(fields=["site", "is_active"], name="webhook_site_active")]

    def __str__(self) -> str:
        return f"{self.url} ({self.site})"


class WebhookDelivery(models.Model):
    """One attempt to deliver one webhook message (an outbox row) to one endpoint."""

    notification = models.ForeignKey(
        "tickets.Notification", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.SET_NULL, null=True, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    url = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "created_at"], name="webhook_delivery_endpoint"),
            models.Index(
                fields=["created_at"], name="webhook_delivery_failed", condition=Q(ok=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.url}: {self.status_code or self.error[:40]}"
