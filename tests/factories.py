"""Shared factories; each app's tests keep theirs in tests/<app>/factories.py."""

from tests.tickets.factories import (  # noqa: F401
    ClientSiteFactory,
    CommentFactory,
    MembershipFactory,
    StaffFactory,
    SuperuserFactory,
    TicketFactory,
    UserFactory,
)
