from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "api"
    verbose_name = "API for integrators"

    def ready(self) -> None:
        from history.registry import track
        from sla.scan import step_register
        from tickets.outbox import sender_register

        from . import webhooks
        from .models import ApiToken, WebhookEndpoint

        # A token's hash and last use are not configuration; a webhook's secret is never kept.
        track(ApiToken, exclude=("key_hash", "last_used_at"))
        track(WebhookEndpoint, secret=("secret",))
        from .services import idempotency_records_purge

        webhooks.signals_connect()
        sender_register("webhook", webhooks.webhook_send)
        step_register("api_idempotency_purged", lambda now: idempotency_records_purge(now=now))
