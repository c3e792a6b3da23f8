"""Two-factor sign-in: enrolment, signing in with a code or a recovery code, wrong codes
counting toward the lockout, and the requirement for staff."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.tickets.factories import StaffFactory

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PAGE = "/accounts/two-factor/"
PASSWORD = "correct horse battery staple"  # the factories' password
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def code_for(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def enrol(client) -> tuple[TOTPDevice, list[str]]:
    """Goes through the page as a user would: scan (read the device), confirm, keep the codes."""
    page = client.get(PAGE)
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(PAGE, {"action": "confirm", "code": code_for(device)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", response.content.decode())
    return device, codes


def sign_in(client, door=LOGIN, username="pat@mercy.example", code=""):
    return client.post(door, {"username": username, "password": PASSWORD, "otp_token": code})


@pytest.mark.django_db
def test_a_member_enrols_and_then_needs_a_code_to_sign_in(client, pm):
    with time_machine.travel(NOW, tick=False):
        client.force_login(pm)
        device, codes = enrol(client)
        assert len(codes) == 10
        client.post("/accounts/logout/")
        without = sign_in(client)
        assert without.status_code == 200
        assert "Enter the code from your authenticator app" in without.content.decode()
        assert "_auth_user_id" not in client.session
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        device.refresh_from_db()
        assert sign_in(client, code=code_for(device)).status_code == 302
        assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_counts_toward_the_lockout(client, pm, settings):
    with time_machine.travel(NOW, tick=False):
        client.force_login(pm)
        device, _ = enrol(client)
        client.post("/accounts/logout/")
    for n in range(settings.AXES_FAILURE_LIMIT):
        with time_machine.travel(NOW + timedelta(minutes=1 + n), tick=False):
            response = sign_in(client, code="000000")
            if n < settings.AXES_FAILURE_LIMIT - 1:
                assert response.status_code == 200
                assert "two-factor code is not right" in response.content.decode()
    assert response.status_code == 429  # the last wrong code reached the limit
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        device.refresh_from_db()
        response = sign_in(client, username="PAT@mercy.example", code=code_for(device))
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_recovery_code_signs_in_once(client, pm):
    with time_machine.travel(NOW, tick=False):
        client.force_login(pm)
        _, codes = enrol(client)
        client.post("/accounts/logout/")
        assert sign_in(client, code=codes[0]).status_code == 302
        client.post("/accounts/logout/")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        again = sign_in(client, code=codes[0])
        assert again.status_code == 200 and "_auth_user_id" not in client.session
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        assert sign_in(client, code=codes[1]).status_code == 302
        assert "Recovery codes left: 8" in client.get(PAGE).content.decode()


@pytest.mark.django_db
def test_a_wrong_enrolment_code_leaves_two_factor_off(client, pm):
    with time_machine.travel(NOW, tick=False):
        client.force_login(pm)
        client.get(PAGE)
        response = client.post(PAGE, {"action": "confirm", "code": "123456"})
        assert "That code is not right" in response.content.decode()
        assert not TOTPDevice.objects.filter(confirmed=True).exists()
        client.post("/accounts/logout/")
        assert sign_in(client).status_code == 302


@pytest.mark.django_db
def test_staff_must_enrol_before_anything_else_when_two_factor_is_required(client, settings):
    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = True
    StaffFactory(username="agent", email="chris.patel@rxhealth.example")
    with time_machine.travel(NOW, tick=False):
        assert sign_in(client, door=ADMIN_LOGIN, username="agent").status_code == 302
        response = client.get("/admin/")
        assert response.status_code == 302 and response["Location"] == PAGE
        assert client.get("/api/v1/tickets/").status_code == 403
        page = client.get(PAGE).content.decode()
        assert "needs two-factor sign-in" in page and "Turn two-factor sign-in off" not in page
        device, _ = enrol(client)
        assert client.get("/admin/").status_code == 200
        client.post("/accounts/logout/")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert sign_in(client, door=ADMIN_LOGIN, username="agent").status_code == 200
        device.refresh_from_db()
        response = sign_in(client, door=ADMIN_LOGIN, username="agent", code=code_for(device))
        assert response.status_code == 302
        assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_demo_without_https_lets_staff_in_and_says_how_to_require_two_factor(client, settings):
    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = False
    StaffFactory(username="agent")
    assert sign_in(client, door=ADMIN_LOGIN, username="agent").status_code == 302
    assert client.get("/admin/").status_code == 200
    assert "HTTPS=true" in client.get(PAGE).content.decode()


@pytest.mark.django_db
def test_a_member_may_turn_two_factor_off_but_required_staff_may_not(client, pm, settings):
    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = True
    with time_machine.travel(NOW, tick=False):
        client.force_login(pm)
        enrol(client)
        client.post(PAGE, {"action": "disable"})
        assert not TOTPDevice.objects.filter(user=pm).exists()
        client.post("/accounts/logout/")
        assert sign_in(client).status_code == 302
        client.post("/accounts/logout/")
        agent = StaffFactory(username="agent")
        assert sign_in(client, door=ADMIN_LOGIN, username="agent").status_code == 302
        enrol(client)
        client.post(PAGE, {"action": "disable"})
        assert TOTPDevice.objects.filter(user=agent, confirmed=True).exists()
