"""Invitations and password resets go through the outbox like every other email: a row without
a ticket, retried when the relay refuses, shown in the ledger, and never storing the link."""

import re

import pytest
from django.urls import reverse

from tests.smtp_server import plain_text, smtp_server, smtp_settings
from tickets.account_mail import LEDGER_BODY
from tickets.models import Notification, Role
from tickets.outbox import notifications_deliver, notifications_deliver_due

pytestmark = pytest.mark.django_db

INVITE = {"name": "Nora Quinn", "email": "nora@mercy.example", "role": Role.IT}
LINK = re.compile(r"https?://\S+/accounts/(?:invitation|reset)/(\S+)/(\S+)/")


def test_an_invitation_refused_by_the_relay_is_retried_and_never_stores_its_link(
    client, site, pm, settings
):
    client.force_login(pm)
    with smtp_server(refuse=1) as (server, port):
        smtp_settings(settings, port)
        response = client.post(reverse("member-invite", args=[site.slug]), INVITE)
        assert response.status_code == 302
        row = Notification.objects.get(event=Notification.Event.INVITATION)
        assert row.ticket is None and row.channel == "account"
        assert notifications_deliver().retrying == 1
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("pending", 1)
        assert "451" in row.last_error
        assert LINK.search(row.body_text + row.body_html + str(row.context)) is None
        Notification.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
        assert notifications_deliver_due() == 1
    (message,) = server.messages
    assert message["To"] == "nora@mercy.example"
    assert "Mercy General" in message["Subject"]
    found = LINK.search(plain_text(message))
    assert found is not None
    _, token = found.groups()
    row.refresh_from_db()
    assert row.status == "sent" and row.body_text == LEDGER_BODY
    stored = f"{row.subject} {row.body_text} {row.body_html} {row.context} {row.last_error}"
    assert token not in stored


def test_the_ledger_lists_account_emails_without_their_links(admin_client, site, pm, settings):
    with smtp_server() as (server, port):
        smtp_settings(settings, port)
        admin_client.post(reverse("password_reset"), {"email": "pat@mercy.example"})
        assert notifications_deliver_due() == 1
    found = LINK.search(plain_text(server.messages[0]))
    assert found is not None
    _, token = found.groups()
    ledger = admin_client.get(reverse("admin:tickets_notification_changelist")).content.decode()
    assert "pat@mercy.example" in ledger
    row = Notification.objects.get(event=Notification.Event.PASSWORD_RESET)
    detail = admin_client.get(reverse("admin:tickets_notification_change", args=[row.pk]))
    assert detail.status_code == 200
    assert token not in ledger + detail.content.decode()


def test_a_reset_form_sent_twice_in_a_row_sends_one_email(client, pm):
    for _ in range(2):
        client.post(reverse("password_reset"), {"email": "pat@mercy.example"})
    assert Notification.objects.filter(event=Notification.Event.PASSWORD_RESET).count() == 1
