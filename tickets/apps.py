from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from . import notify, signals
        from .account_mail import CHANNEL, account_email_send
        from .major_incidents import major_incident_unlink_reopened
        from .outbox import sender_register

        notify.renderers_register()
        sender_register(CHANNEL, account_email_send)
        signals.ticket_reopened.connect(
            major_incident_unlink_reopened, dispatch_uid="major_incident_unlink_reopened"
        )
