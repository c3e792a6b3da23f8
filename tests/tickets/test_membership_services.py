"""Managing a site's members: only its project managers, and never leaving it without one."""

import pytest

from tests.tickets.factories import ClientSiteFactory, MembershipFactory, StaffFactory
from tickets.errors import Conflict, DomainError, NotAllowed
from tickets.models import Role, SiteMembership
from tickets.services import membership_invite, membership_remove, membership_role_change


@pytest.fixture
def site(db):
    return ClientSiteFactory()


@pytest.fixture
def pm(site):
    return MembershipFactory(site=site, role=Role.PM).user


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.IT, Role.VIEWER])
def test_only_project_managers_invite(site, role):
    actor = MembershipFactory(site=site, role=role).user
    with pytest.raises(NotAllowed):
        membership_invite(site=site, email="new@h.example", role=Role.IT, actor=actor)


@pytest.mark.django_db
def test_pm_of_another_site_cannot_invite_here(site):
    other_pm = MembershipFactory(role=Role.PM).user
    with pytest.raises(NotAllowed):
        membership_invite(site=site, email="new@h.example", role=Role.IT, actor=other_pm)


@pytest.mark.django_db
def test_invite_creates_an_account_without_a_usable_password(site, pm):
    membership, created = membership_invite(
        site=site, email=" New@H.example ", role=Role.VIEWER, actor=pm
    )
    assert created
    assert membership.user.email == "new@h.example"
    assert not membership.user.has_usable_password()
    again, created = membership_invite(
        site=ClientSiteFactory(), email="new@h.example", role=Role.PM, actor=StaffFactory()
    )
    assert not created and again.user == membership.user


@pytest.mark.django_db
def test_inviting_a_member_twice_is_a_conflict(site, pm):
    membership_invite(site=site, email="new@h.example", role=Role.IT, actor=pm)
    with pytest.raises(Conflict):
        membership_invite(site=site, email="NEW@h.example", role=Role.IT, actor=pm)


@pytest.mark.django_db
def test_staff_addresses_cannot_be_invited(site, pm):
    StaffFactory(email="agent@rxhealth.example")
    with pytest.raises(DomainError):
        membership_invite(site=site, email="agent@rxhealth.example", role=Role.IT, actor=pm)


@pytest.mark.django_db
def test_the_last_pm_stays_until_another_pm_exists(site, pm):
    with pytest.raises(Conflict):
        membership_role_change(site=site, user=pm, role=Role.IT, actor=pm)
    with pytest.raises(Conflict):
        membership_remove(site=site, user=pm, actor=pm)
    second = MembershipFactory(site=site, role=Role.PM).user
    membership_remove(site=site, user=pm, actor=second)
    assert list(SiteMembership.objects.filter(site=site).values_list("user", flat=True)) == [
        second.pk
    ]
