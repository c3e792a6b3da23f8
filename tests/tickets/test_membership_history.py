"""Membership changes are recorded (who invited, changed the role of, or removed whom, and
when) and shown on the site's admin page."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from tests.portal.helpers import member
from tests.tickets.factories import ClientSiteFactory, SuperuserFactory
from tickets import services
from tickets.errors import Conflict
from tickets.models import MembershipEvent, Role

WHEN = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def site(db):
    return ClientSiteFactory(name="Mercy General", slug="mercy")


@pytest.fixture
def pm(site):
    return member(site, Role.PM, username="pat", email="pat@mercy.example")


def test_invite_role_change_and_removal_through_the_portal_are_each_recorded(client, site, pm):
    client.force_login(pm)
    with time_machine.travel(WHEN, tick=False):
        client.post(
            reverse("member-invite", args=[site.slug]),
            {"name": "Nora Lee", "email": "nora@mercy.example", "role": Role.IT},
        )
        nora = site.memberships.get(user__email="nora@mercy.example").user
        client.post(reverse("member-role", args=[site.slug, nora.pk]), {"role": Role.VIEWER})
        client.post(reverse("member-remove", args=[site.slug, nora.pk]))
    rows = list(
        MembershipEvent.objects.filter(site=site)
        .order_by("id")
        .values_list("actor_name", "action", "member_name", "role_before", "role_after")
    )
    assert rows == [
        ("pat@mercy.example", "invited", "nora@mercy.example", "", "it"),
        ("pat@mercy.example", "role_changed", "nora@mercy.example", "it", "viewer"),
        ("pat@mercy.example", "removed", "nora@mercy.example", "viewer", ""),
    ]
    assert {e.created_at for e in MembershipEvent.objects.all()} == {WHEN}


def test_a_refused_change_records_nothing_and_an_unchanged_role_is_not_a_change(site, pm):
    before = MembershipEvent.objects.count()
    with pytest.raises(Conflict):
        services.membership_remove(site=site, user=pm, actor=pm)
    services.membership_role_change(site=site, user=pm, role=Role.PM, actor=pm)
    assert MembershipEvent.objects.count() == before


def test_the_history_is_shown_on_the_sites_admin_page(client, site, pm):
    admin_user = SuperuserFactory(username="root", email="root@rxhealth.example")
    with time_machine.travel(WHEN, tick=False):
        services.membership_invite(
            site=site, email="nora@mercy.example", role=Role.VIEWER, actor=pm
        )
        services.membership_set(
            site=site,
            user=site.memberships.get(user__email="nora@mercy.example").user,
            role=Role.IT,
            actor=admin_user,
        )
    client.force_login(admin_user)
    page = client.get(reverse("admin:tickets_clientsite_change", args=[site.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Membership history" in html
    assert "changed the role of" in html and "invited" in html
    assert "root@rxhealth.example" in html and "nora@mercy.example" in html
