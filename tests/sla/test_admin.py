import pytest
from django.urls import reverse

from sla.models import SLAPolicy
from tests.tickets.factories import StaffFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def test_policies_are_listed_and_edited_in_hours(client):
    client.force_login(SuperuserFactory())
    policy = SLAPolicy.objects.get(kind="incident", impact="high")
    listing = client.get(reverse("admin:sla_slapolicy_changelist")).content.decode()
    assert "16 h" in listing and "1 h" in listing
    url = reverse("admin:sla_slapolicy_change", args=[policy.pk])
    page = client.get(url)
    assert page.context["adminform"].form.initial["first_response_hours"] == 1
    response = client.post(
        url,
        {
            "kind": "incident",
            "impact": "high",
            "first_response_hours": "1.5",
            "update_every_hours": "2",
            "at_risk_percent": 80,
            "update_warning_minutes": 15,
            "calendar": "",
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.first_response_minutes, policy.update_every_minutes) == (90, 120)


def test_staff_may_read_policies_but_not_change_them_without_the_permission(client):
    client.force_login(StaffFactory())
    policy = SLAPolicy.objects.first()
    assert client.get(reverse("admin:sla_slapolicy_changelist")).status_code == 200
    url = reverse("admin:sla_slapolicy_change", args=[policy.pk])
    response = client.post(url, {"kind": policy.kind, "first_response_hours": "99"})
    assert response.status_code == 403
