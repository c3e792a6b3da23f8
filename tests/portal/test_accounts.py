"""Signing in by email, throttled failures, password reset and change, session timeouts."""

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from tickets.models import Notification
from tickets.outbox import notifications_deliver_due

LOGIN = "/accounts/login/"
PASSWORD = "correct horse battery staple"  # the factories' password


@pytest.mark.django_db
def test_site_contact_signs_in_with_email_in_any_case(client, pm):
    response = client.post(LOGIN, {"username": "PAT@Mercy.example", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_staff_can_still_sign_in_with_a_username(client):
    from tests.tickets.factories import StaffFactory

    agent = StaffFactory(username="agent7")
    response = client.post(LOGIN, {"username": "agent7", "password": PASSWORD})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == agent.pk


@pytest.mark.django_db
def test_wrong_password_is_an_error_on_the_form_and_is_logged(client, pm, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.auth"):
        response = client.post(LOGIN, {"username": "pat@mercy.example", "password": "nope"})
    assert response.status_code == 200
    assert "do not match an active account" in response.content.decode()
    assert any("Failed sign-in for 'pat@mercy.example'" in r.message for r in caplog.records)


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, pm, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "pat@mercy.example", "password": "wrong"})
    response = client.post(LOGIN, {"username": "pat@mercy.example", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_sign_out(client, pm):
    client.force_login(pm)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_idle_session_is_signed_out_after_the_idle_timeout(client, pm, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    start = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        client.post(LOGIN, {"username": "pat@mercy.example", "password": PASSWORD})
        assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=29 + 31), tick=False):
        response = client.get("/tickets/new/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/tickets/new/"
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_active_session_ends_after_the_absolute_timeout(client, pm, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT_HOURS = 2
    start = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        client.post(LOGIN, {"username": "pat@mercy.example", "password": PASSWORD})
    for minutes in range(20, 120, 20):  # busy the whole time
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=121), tick=False):
        assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_password_reset_by_email_link(client, pm, settings):
    response = client.post(reverse("password_reset"), {"email": "pat@mercy.example"})
    assert response.status_code == 302
    assert mail.outbox == []  # not inside the request: through the outbox
    notifications_deliver_due()
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    found = re.search(r"https?://\S+/accounts/reset/\S+/", str(body))
    assert found is not None
    link = found.group(0)
    assert link.startswith(settings.PORTAL_BASE_URL)
    path = link[len(settings.PORTAL_BASE_URL) :]
    form_page = client.get(path, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a new Passphrase 42", "new_password2": "a new Passphrase 42"},
    )
    assert response.status_code == 302
    pm.refresh_from_db()
    assert pm.check_password("a new Passphrase 42")


@pytest.mark.django_db
def test_password_reset_for_an_unknown_email_sends_nothing_and_tells_nothing(client, pm):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.example"})
    assert response.status_code == 302
    notifications_deliver_due()
    assert mail.outbox == []
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_password_change_with_bad_input_shows_errors(client, pm):
    client.force_login(pm)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "123", "new_password2": "456"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your old password was entered incorrectly" in page
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "brand new Passphrase 9",
            "new_password2": "brand new Passphrase 9",
        },
    )
    assert response.status_code == 302
