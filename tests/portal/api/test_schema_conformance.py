"""Every response matches the published OpenAPI schema: schemathesis generates requests for
every operation and runs all its checks (response conformance included), with a pm's token and
with a staff token; any finding fails the suite."""

import pytest
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from portal.api.services import api_token_issue
from tests.portal.api.test_schema import api_schema

load_all_checks()
ALL_CHECKS = CHECKS.get_all()

# Requests valid by the schema (the API ignores unknown query parameters and empty filters,
# which schemathesis' negative mode counts against it). A 400 for a schema-valid request is the
# API naming a rule no schema can state (which site slugs are the caller's, which staff names
# exist, which file types are allowed); a 422 is an Idempotency-Key the generator reused with
# another body. Every other check runs with its defaults.
SCHEMATHESIS_CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "positive"},
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]
            }
        },
    }
)
schema = api_schema(SCHEMATHESIS_CONFIG)


@pytest.fixture(params=["pm", "staff"])
def token(request, people):
    _, token = api_token_issue(user=people[request.param], name="conformance")
    return token


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_response_matches_the_schema(case, token, ticket, settings, _keep_test_connection):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    settings.API_THROTTLE_RATES = {"token": "100000/min", "user": "100000/min"}
    params = case.path_parameters or {}
    if "reference" in params and len(str(params["reference"])) % 2 == 0:
        params["reference"] = ticket.reference
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(
        response, checks=ALL_CHECKS, headers={"Authorization": f"Bearer {token}"}
    )
