import pytest

from tests.portal.helpers import member, png
from tests.tickets.factories import ClientSiteFactory
from tickets import services
from tickets.models import Role


@pytest.fixture
def site(db):
    return ClientSiteFactory(name="Mercy General", slug="mercy", timezone="America/New_York")


@pytest.fixture
def other_site(db):
    return ClientSiteFactory(name="St. Elsewhere", slug="elsewhere", timezone="America/Chicago")


@pytest.fixture
def pm(site):
    return member(site, Role.PM, username="pat", email="pat@mercy.example")


@pytest.fixture
def it(site):
    return member(site, Role.IT, username="ivy", email="ivy@mercy.example")


@pytest.fixture
def viewer(site):
    return member(site, Role.VIEWER, username="vic", email="vic@mercy.example")


@pytest.fixture
def outsider(other_site):
    """A project manager of another site: must see nothing of `site`."""
    return member(other_site, Role.PM, username="otto", email="otto@elsewhere.example")


@pytest.fixture
def ticket(site, pm):
    return services.ticket_create(
        actor=pm,
        site=site,
        kind="incident",
        impact="high",
        title="Pharmacy module down",
        description="Nobody can open the pharmacy module.",
        files=[png()],
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell that a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
