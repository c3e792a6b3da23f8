"""Configuration history: every change to an SLA policy, a business calendar (with its periods
and holidays), an escalation contact, an API token and a webhook endpoint is kept as a version
with who, when and what changed; shown read-only in the back office."""

import datetime

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from escalation.models import EscalationContact, EscalationLevel
from history.models import Version
from history.selectors import versions_of
from portal.api.models import ApiToken, WebhookEndpoint
from portal.api.services import api_token_issue, api_token_revoke
from sla.models import BusinessCalendar, SLAPolicy
from tests.sla.conftest import MONDAY
from tests.tickets.factories import SuperuserFactory

pytestmark = pytest.mark.django_db


def policy_post(client, policy, **changes):
    data = {
        "kind": "incident",
        "impact": "high",
        "first_response_hours": "1",
        "update_every_hours": "1",
        "at_risk_percent": 75,
        "update_warning_minutes": 15,
        "calendar": "",
        **changes,
    }
    return client.post(reverse("admin:sla_slapolicy_change", args=[policy.pk]), data)


def test_an_admin_edit_of_a_policy_is_a_version_by_that_person_naming_the_fields(client):
    lead = SuperuserFactory(username="lead", first_name="Lee", last_name="Ng")
    client.force_login(lead)
    policy = SLAPolicy.objects.get(kind="incident", impact="high")
    with time_machine.travel(MONDAY, tick=False):
        assert policy_post(client, policy, first_response_hours="2").status_code == 302
    found, edited = versions_of(model=SLAPolicy, object_id=policy.pk).order_by("number")
    # The seeded row is recorded as it was before the first change, then the change.
    assert (found.number, found.action, found.snapshot["first_response_minutes"]) == (
        1,
        "found",
        60,
    )
    assert (edited.number, edited.action, edited.actor) == (2, "changed", lead)
    assert edited.changed_fields == ["first_response_minutes"]
    assert edited.snapshot["first_response_minutes"] == 120
    assert edited.at == MONDAY
    assert edited.actor_name == "Lee Ng (lead)"

    # Saving the form again without a change writes no version.
    policy_post(client, policy, first_response_hours="2")
    assert versions_of(model=SLAPolicy, object_id=policy.pk).count() == 2

    page = client.get(reverse("admin:sla_slapolicy_change", args=[policy.pk])).content.decode()
    assert "configuration history" in page.lower() and "version 2" in page
    snapshot = client.get(reverse("admin:history_version_change", args=[edited.pk]))
    assert snapshot.status_code == 200 and "120" in snapshot.content.decode()
    # The record is read-only, even for a superuser.
    assert client.post(reverse("admin:history_version_delete", args=[edited.pk])).status_code == 403


def test_a_calendar_saved_with_its_periods_in_one_form_is_one_version(client):
    calendar = BusinessCalendar.objects.create(name="Office", timezone="UTC")
    calendar.periods.create(weekday=0, start=datetime.time(9), end=datetime.time(17))
    before = versions_of(model=BusinessCalendar, object_id=calendar.pk).count()
    period = calendar.periods.get()
    client.force_login(SuperuserFactory())
    data = {
        "name": "Office",
        "timezone": "UTC",
        "description": "",
        "periods-TOTAL_FORMS": "2",
        "periods-INITIAL_FORMS": "1",
        "periods-MIN_NUM_FORMS": "0",
        "periods-MAX_NUM_FORMS": "1000",
        "periods-0-id": period.pk,
        "periods-0-calendar": calendar.pk,
        "periods-0-weekday": 0,
        "periods-0-start": "08:00",
        "periods-0-end": "17:00",
        "periods-1-calendar": calendar.pk,
        "periods-1-weekday": 1,
        "periods-1-start": "09:00",
        "periods-1-end": "17:00",
        "holidays-TOTAL_FORMS": "1",
        "holidays-INITIAL_FORMS": "0",
        "holidays-MIN_NUM_FORMS": "0",
        "holidays-MAX_NUM_FORMS": "1000",
        "holidays-0-calendar": calendar.pk,
        "holidays-0-date": "2026-12-25",
        "holidays-0-name": "Christmas",
    }
    response = client.post(reverse("admin:sla_businesscalendar_change", args=[calendar.pk]), data)
    assert response.status_code == 302, response.content.decode()[:1500]
    versions = versions_of(model=BusinessCalendar, object_id=calendar.pk)
    assert versions.count() == before + 1
    latest = versions.first()
    assert latest is not None
    assert latest.changed_fields == ["holidays", "periods"]
    assert [p["start"] for p in latest.snapshot["periods"]] == ["08:00:00", "09:00:00"]
    assert latest.snapshot["holidays"] == [{"date": "2026-12-25", "name": "Christmas"}]


def test_escalation_contact_changes_are_versions(client):
    contact = EscalationContact.objects.create(
        name="Dana", role="Project director", email="dana@rx.example",
        level=EscalationLevel.objects.get(number=3),
    )  # fmt: skip
    lead = SuperuserFactory()
    client.force_login(lead)
    url = reverse("admin:escalation_escalationcontact_change", args=[contact.pk])
    response = client.post(
        url,
        {
            "name": "Dana",
            "role": "Project director",
            "email": "dana.w@rx.example",
            "phone": "",
            "level": contact.level_id,
            "site": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    created, changed = versions_of(model=EscalationContact, object_id=contact.pk).order_by("number")
    assert created.action == "created" and created.actor is None
    assert (changed.actor, changed.changed_fields) == (lead, ["email"])
    assert "version 2" in client.get(url).content.decode()


def test_issuing_and_revoking_a_token_record_who_did_it(client, pm):
    lead = SuperuserFactory(username="lead")
    client.force_login(lead)
    response = client.post(reverse("admin:api_apitoken_add"), {"user": pm.pk, "name": "EHR"})
    assert response.status_code == 302
    token = ApiToken.objects.get(name="EHR")
    response = client.post(
        reverse("admin:api_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    issued, revoked = versions_of(model=ApiToken, object_id=token.pk).order_by("number")
    assert (issued.action, issued.actor) == ("created", lead)
    assert (revoked.actor, revoked.changed_fields) == (lead, ["revoked_at"])
    assert "key_hash" not in issued.snapshot  # the hash of the secret is not configuration

    row, _ = api_token_issue(user=pm, name="bridge", actor=pm)
    api_token_revoke(token=row, actor=lead)
    issued, revoked = versions_of(model=ApiToken, object_id=row.pk).order_by("number")
    assert (issued.actor, revoked.actor) == (pm, lead)


def test_a_token_issued_on_the_command_line_names_the_command(pm):
    call_command("issue_api_token", pm.username, "--name", "cli")
    version = versions_of(model=ApiToken, object_id=ApiToken.objects.get(name="cli").pk).get()
    assert version.actor is None
    assert version.who == "manage.py issue_api_token"


def test_a_webhook_secret_change_is_recorded_without_keeping_the_secret(client, site):
    endpoint = WebhookEndpoint.objects.create(site=site, url="https://ehr.example/hook")
    old_secret = endpoint.secret
    client.force_login(SuperuserFactory())
    url = reverse("admin:api_webhookendpoint_change", args=[endpoint.pk])
    form = {
        "site": site.pk,
        "url": "https://ehr.example/hook2",
        "secret": "whsec_brand-new-secret-value",
        "events": ["ticket.created"],
        "is_active": "on",
        "description": "",
    }
    assert client.post(url, form).status_code == 302
    latest = versions_of(model=WebhookEndpoint, object_id=endpoint.pk).first()
    assert latest is not None
    assert set(latest.changed_fields) == {"url", "secret", "events"}
    stored = str(list(Version.objects.values_list("snapshot", flat=True)))
    assert "brand-new-secret-value" not in stored and old_secret not in stored
    assert latest.snapshot["secret"] == "(set, not stored)"
    # Saving with the same secret says nothing about it.
    form["url"] = "https://ehr.example/hook3"
    assert client.post(url, form).status_code == 302
    latest = versions_of(model=WebhookEndpoint, object_id=endpoint.pk).first()
    assert latest is not None and latest.changed_fields == ["url"]
