import pytest
from django.contrib.auth.models import AnonymousUser

from tests.tickets.factories import (
    ClientSiteFactory,
    CommentFactory,
    MembershipFactory,
    StaffFactory,
    TicketFactory,
    UserFactory,
)
from tickets.models import Role
from tickets.selectors import (
    attachments_visible_to,
    comments_visible_to,
    sites_where_can_file,
    tickets_visible_to,
)

pytestmark = pytest.mark.django_db


def test_site_contact_sees_only_their_sites_tickets():
    mine, theirs = ClientSiteFactory(), ClientSiteFactory()
    member = MembershipFactory(site=mine, role=Role.VIEWER).user
    own = TicketFactory.create_batch(2, site=mine)
    TicketFactory.create_batch(3, site=theirs)

    assert set(tickets_visible_to(member)) == set(own)


def test_member_of_two_sites_sees_both_without_duplicates():
    a, b = ClientSiteFactory(), ClientSiteFactory()
    user = UserFactory()
    MembershipFactory(user=user, site=a, role=Role.PM)
    MembershipFactory(user=user, site=b, role=Role.VIEWER)
    TicketFactory(site=a)
    TicketFactory(site=b)
    TicketFactory()

    visible = tickets_visible_to(user)
    assert visible.count() == 2
    assert len(list(visible)) == 2
    assert list(sites_where_can_file(user)) == [a]


def test_staff_see_everything_and_strangers_nothing():
    TicketFactory.create_batch(3)
    assert tickets_visible_to(StaffFactory()).count() == 3
    assert tickets_visible_to(UserFactory()).count() == 0
    assert tickets_visible_to(AnonymousUser()).count() == 0
    inactive = StaffFactory(is_active=False)
    assert tickets_visible_to(inactive).count() == 0


def test_internal_notes_and_their_attachments_are_hidden_from_site_contacts():
    site = ClientSiteFactory()
    member = MembershipFactory(site=site).user
    ticket = TicketFactory(site=site)
    public = CommentFactory(ticket=ticket)
    internal = CommentFactory(ticket=ticket, public=False, by_staff=True, author=StaffFactory())

    assert list(comments_visible_to(user=member, ticket=ticket)) == [public]
    assert set(comments_visible_to(user=StaffFactory(), ticket=ticket)) == {public, internal}
    assert attachments_visible_to(member).count() == 0
