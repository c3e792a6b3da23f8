"""Sign-in lockouts count per account: every spelling of it and every door share one counter."""

import pytest

from tests.tickets.factories import StaffFactory

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "correct horse battery staple"  # the factories' password


def fail(client, door: str, username: str) -> int:
    return client.post(door, {"username": username, "password": "wrong"}).status_code


@pytest.mark.django_db
@pytest.mark.parametrize(
    "later_spelling", ["PAT@MERCY.EXAMPLE", "Pat@mercy.example", " pat@mercy.example ", "pat"]
)
def test_an_account_locked_under_one_spelling_is_locked_under_every_other(
    client, pm, settings, later_spelling
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        fail(client, LOGIN, "pat@mercy.example")
    response = client.post(LOGIN, {"username": later_spelling, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_failures_under_mixed_spellings_add_up_to_one_lockout(client, pm, settings):
    spellings = ["pat@mercy.example", "PAT@mercy.example", "pat", "Pat@Mercy.Example", "pat"]
    for spelling in spellings[: settings.AXES_FAILURE_LIMIT]:
        fail(client, LOGIN, spelling)
    response = client.post(LOGIN, {"username": "pat@mercy.example", "password": PASSWORD})
    assert response.status_code == 429


@pytest.mark.django_db
def test_staff_locked_at_the_admin_door_cannot_sign_in_at_the_portal_door(client, settings):
    StaffFactory(username="agent", email="chris.patel@rxhealth.example")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        fail(client, ADMIN_LOGIN, "agent")
    response = client.post(
        LOGIN, {"username": "chris.patel@rxhealth.example", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_staff_locked_at_the_portal_door_cannot_sign_in_to_admin(client, settings):
    StaffFactory(username="agent", email="chris.patel@rxhealth.example")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        fail(client, LOGIN, "Chris.Patel@rxhealth.example")
    response = client.post(ADMIN_LOGIN, {"username": "agent", "password": PASSWORD})
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_the_lockout_holds_from_another_address(client, pm, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        fail(client, LOGIN, "pat@mercy.example")
    response = client.post(
        LOGIN,
        {"username": "pat@mercy.example", "password": PASSWORD},
        REMOTE_ADDR="10.9.8.7",
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_failures_below_the_limit_do_not_lock_and_a_success_clears_them(client, pm, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        fail(client, LOGIN, "PAT@mercy.example")
    assert client.post(LOGIN, {"username": "pat", "password": PASSWORD}).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        fail(client, ADMIN_LOGIN, "pat@mercy.example")
    response = client.post(LOGIN, {"username": "pat@mercy.example", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.django_db
def test_unknown_names_lock_too_so_a_lockout_does_not_tell_which_accounts_exist(client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        fail(client, LOGIN, "nobody@mercy.example")
    assert fail(client, LOGIN, "NOBODY@mercy.example") == 429
