from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "api"
    verbose_name = "API for integrators"

    def ready(self) -> None:
        from sla.scan import step_register
        from tickets.outbox import sender_register

        from . import webhooks
        from .services import idempotency_records_purge

        webhooks.signals_connect()
        sender_register("webhook", webhooks.webhook_send)
        step_register("api_idempotency_purged", lambda now: idempotency_records_purge(now=now))
