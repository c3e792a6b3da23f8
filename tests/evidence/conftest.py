import datetime

import pytest

from tests.tickets.factories import ClientSiteFactory, MembershipFactory, StaffFactory
from tickets.models import Role

# A Monday morning in New York (14:00 UTC), far from any DST change.
MONDAY = datetime.datetime(2026, 11, 23, 14, 0, tzinfo=datetime.UTC)


@pytest.fixture
def site():
    return ClientSiteFactory(name="St. Mary's", slug="st-marys")


@pytest.fixture
def other_site():
    return ClientSiteFactory(name="Lakeside Clinic", slug="lakeside")


@pytest.fixture
def pm(site):
    return MembershipFactory(site=site, role=Role.PM, user__email="pm@stmarys.example").user


@pytest.fixture
def it(site):
    return MembershipFactory(site=site, role=Role.IT, user__email="it@stmarys.example").user


@pytest.fixture
def other_pm(other_site):
    return MembershipFactory(site=other_site, role=Role.PM, user__email="pm@lakeside.example").user


@pytest.fixture
def agent():
    return StaffFactory(email="agent@rxhealth.example", first_name="Chris", last_name="Patel")
