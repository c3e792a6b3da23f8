from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from history.registry import track
        from tickets import signals

        from . import handlers, notify
        from .models import BusinessCalendar, Holiday, SLAPolicy, WorkingPeriod

        track(SLAPolicy)
        track(BusinessCalendar, children={WorkingPeriod: "calendar", Holiday: "calendar"})
        notify.emails_register()
        signals.ticket_filed.connect(handlers.on_ticket_filed, dispatch_uid="sla_ticket_filed")
        signals.reply_posting.connect(handlers.on_reply_posting, dispatch_uid="sla_reply_posting")
        signals.reply_posted.connect(handlers.on_reply_posted, dispatch_uid="sla_reply_posted")
        signals.replies_broadcast.connect(
            handlers.on_replies_broadcast, dispatch_uid="sla_replies_broadcast"
        )
        signals.status_changed.connect(
            handlers.on_status_changed, dispatch_uid="sla_status_changed"
        )
        signals.impact_changed.connect(
            handlers.on_impact_changed, dispatch_uid="sla_impact_changed"
        )
        signals.tickets_importing.connect(
            handlers.on_tickets_importing, dispatch_uid="sla_tickets_importing"
        )
