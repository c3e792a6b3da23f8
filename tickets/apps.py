from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from . import notify
        from .account_mail import CHANNEL, account_email_send
        from .outbox import sender_register

        notify.renderers_register()
        sender_register(CHANNEL, account_email_send)
