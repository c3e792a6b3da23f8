"""The site members page: a project manager invites, changes roles and removes members."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tickets.models import Role, SiteMembership
from tickets.outbox import notifications_deliver_due

User = get_user_model()


def _invite(client, site, email="nora@mercy.example", role=Role.IT):
    response = client.post(
        reverse("member-invite", args=[site.slug]),
        {"name": "Nora Quinn", "email": email, "role": role},
    )
    notifications_deliver_due()  # what the worker does once the invitation is committed
    return response


@pytest.mark.django_db
def test_pm_sees_the_members_of_the_site(client, site, pm, it, viewer):
    client.force_login(pm)
    page = client.get(reverse("site-members", args=[site.slug])).content.decode()
    for email in ("pat@mercy.example", "ivy@mercy.example", "vic@mercy.example"):
        assert email in page


@pytest.mark.django_db
def test_invitation_emails_a_set_password_link_never_a_password(client, site, pm, settings):
    client.force_login(pm)
    response = _invite(client, site)
    assert response.status_code == 302
    user = User.objects.get(email="nora@mercy.example")
    assert not user.has_usable_password()
    assert SiteMembership.objects.get(user=user, site=site).role == Role.IT
    (message,) = mail.outbox
    assert message.to == ["nora@mercy.example"]
    assert "Mercy General" in message.subject
    found = re.search(r"https?://\S+/accounts/invitation/\S+/", str(message.body))
    assert found is not None
    link = found.group(0)
    assert link.startswith(settings.PORTAL_BASE_URL)
    assert "password:" not in message.body.lower()

    # The invitee follows the link, chooses a password, and is signed in.
    client.logout()
    path = link[len(settings.PORTAL_BASE_URL) :]
    form_page = client.get(path, follow=True)
    assert "Choose a password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Nora's own Passphrase 1", "new_password2": "Nora's own Passphrase 1"},
    )
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk
    user.refresh_from_db()
    assert user.check_password("Nora's own Passphrase 1")
    # The link works once.
    client.logout()
    again = client.get(path, follow=True)
    assert "no longer works" in again.content.decode()


@pytest.mark.django_db
def test_inviting_someone_with_an_account_adds_them_and_emails_a_sign_in_link(
    client, site, pm, outsider
):
    client.force_login(pm)
    _invite(client, site, email="OTTO@elsewhere.example", role=Role.VIEWER)
    assert SiteMembership.objects.get(user=outsider, site=site).role == Role.VIEWER
    assert "/accounts/login/" in mail.outbox[0].body
    assert "/accounts/invitation/" not in mail.outbox[0].body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("not-an-email", Role.IT, "Enter a valid email address."),
        ("", Role.IT, "This field is required."),
        ("ok@mercy.example", "owner", "Select a valid choice"),
        ("ivy@mercy.example", Role.IT, "already a member"),
    ],
)
def test_bad_invitations_show_errors_not_500(client, site, pm, it, email, role, message):
    client.force_login(pm)
    response = _invite(client, site, email=email, role=role)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert mail.outbox == []


@pytest.mark.django_db
def test_pm_changes_a_role_and_removes_a_member(client, site, pm, it):
    client.force_login(pm)
    client.post(reverse("member-role", args=[site.slug, it.pk]), {"role": Role.VIEWER})
    assert SiteMembership.objects.get(user=it, site=site).role == Role.VIEWER
    client.post(reverse("member-remove", args=[site.slug, it.pk]))
    assert not SiteMembership.objects.filter(user=it, site=site).exists()


@pytest.mark.django_db
def test_the_last_project_manager_cannot_be_demoted_or_removed(client, site, pm):
    client.force_login(pm)
    response = client.post(
        reverse("member-role", args=[site.slug, pm.pk]), {"role": Role.IT}, follow=True
    )
    assert "at least one project manager" in response.content.decode()
    response = client.post(reverse("member-remove", args=[site.slug, pm.pk]), follow=True)
    assert "at least one project manager" in response.content.decode()
    assert SiteMembership.objects.get(user=pm, site=site).role == Role.PM


@pytest.mark.django_db
def test_bad_role_value_is_a_message_not_500(client, site, pm, it):
    client.force_login(pm)
    response = client.post(
        reverse("member-role", args=[site.slug, it.pk]), {"role": "king"}, follow=True
    )
    assert response.status_code == 200
    assert "Choose a role" in response.content.decode()


@pytest.mark.django_db
def test_member_of_another_site_cannot_be_changed_through_this_site(client, site, pm, outsider):
    client.force_login(pm)
    response = client.post(reverse("member-remove", args=[site.slug, outsider.pk]))
    assert response.status_code == 404
    assert outsider.site_memberships.exists()


def test_an_invitation_asks_for_a_name_and_defaults_to_viewer(client, site, pm):
    client.force_login(pm)
    page = client.get(reverse("site-members", args=[site.slug]))
    form = page.context["invite_form"]
    assert form.fields["role"].initial == "viewer" and "name" in form.fields
    client.post(
        reverse("member-invite", args=[site.slug]),
        {"name": "Nora Quinn", "email": "nora@mercy.example", "role": "viewer"},
    )
    from django.contrib.auth import get_user_model

    invited = get_user_model().objects.get(email="nora@mercy.example")
    assert invited.get_full_name() == "Nora Quinn"
