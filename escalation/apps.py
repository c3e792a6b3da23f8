from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        from history.registry import track
        from sla import scan, signals
        from tickets import signals as ticket_signals
        from tickets.models import Notification
        from tickets.outbox import renderer_register

        from . import handlers, ladder, services
        from .models import EscalationContact

        track(EscalationContact)

        signals.responses_breached.connect(
            handlers.on_responses_breached, dispatch_uid="escalation.responses_breached"
        )
        signals.first_response_recorded.connect(
            handlers.on_first_response_recorded, dispatch_uid="escalation.first_response"
        )
        signals.first_responses_recorded.connect(
            handlers.on_first_responses_recorded, dispatch_uid="escalation.first_responses"
        )
        ticket_signals.impact_changed.connect(
            handlers.on_impact_or_status_changed, dispatch_uid="escalation.resume"
        )
        ticket_signals.status_changed.connect(
            handlers.on_impact_or_status_changed, dispatch_uid="escalation.resume"
        )
        signals.imported_breaches_owed.connect(
            handlers.on_imported_breaches_owed, dispatch_uid="escalation.imported"
        )
        scan.step_register("escalations", services.escalation_step)
        renderer_register(
            Notification.Event.ESCALATED,
            ladder.escalation_email_render,
            item=ladder.escalation_email_item,
        )
