import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.test import APIClient

from portal.api.services import api_token_issue
from tests.tickets.factories import ClientSiteFactory, MembershipFactory, StaffFactory
from tickets import services
from tickets.models import Role

ROLES = ["pm", "it", "viewer", "staff", "outsider", "anonymous"]


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site(db):
    return ClientSiteFactory(slug="st-marys", name="St Mary's")


@pytest.fixture
def other_site(db):
    return ClientSiteFactory(slug="county-general", name="County General")


@pytest.fixture
def people(site, other_site):
    """One user per role: pm, it and viewer of `site`, staff, and a pm of `other_site`."""
    return {
        "pm": MembershipFactory(site=site, role=Role.PM, user__username="sm-pm").user,
        "it": MembershipFactory(site=site, role=Role.IT, user__username="sm-it").user,
        "viewer": MembershipFactory(site=site, role=Role.VIEWER, user__username="sm-view").user,
        "staff": StaffFactory(username="agent.lee"),
        "outsider": MembershipFactory(site=other_site, role=Role.PM, user__username="cg-pm").user,
    }


def client_for(user=None) -> APIClient:
    """An API client authenticated the way integrators do: with a bearer token."""
    client = APIClient()
    if user is not None:
        _, token = api_token_issue(user=user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def clients(people):
    out = {role: client_for(user) for role, user in people.items()}
    out["anonymous"] = APIClient()
    return out


@pytest.fixture
def ticket(site, people):
    return services.ticket_create(
        actor=people["pm"],
        site=site,
        kind="incident",
        impact="high",
        title="Dispensing cabinets offline",
        description="Floors 3-5 cannot reach the server.",
    )


@pytest.fixture
def other_ticket(other_site, people):
    return services.ticket_create(
        actor=people["outsider"],
        site=other_site,
        kind="general",
        title="Other site's question",
        description="Secret of County General.",
    )


@pytest.fixture
def _keep_test_connection():
    """Calling the WSGI app directly would close the test's database connection at the end
    of each request (Django's test client avoids that the same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
