"""Security headers as served: a Content-Security-Policy and a Permissions-Policy on every page
of the portal, admin and API docs; `Cache-Control: no-store` on signed-in pages and the API."""

import pytest
from django.contrib import admin
from django.urls import reverse

from portal.api.services import api_token_issue
from tests.tickets.factories import SuperuserFactory

CSP_PARTS = ["default-src 'self'", "script-src 'self'", "object-src 'none'"]


def assert_policies(response, path: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    for part in CSP_PARTS:
        assert part in csp, f"{path}: {csp!r}"
    assert "http" not in csp, f"{path} names another host: {csp!r}"
    assert "camera=()" in response.get("Permissions-Policy", ""), path


def assert_not_cached(response, path: str) -> None:
    assert "no-store" in response.get("Cache-Control", ""), path


def admin_pages() -> list[tuple[str, set[int]]]:
    """Index, and every model's list and add page (an add page may refuse: 403)."""
    pages = [(reverse("admin:index"), {200})]
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        pages.append((reverse("admin:{}_{}_changelist".format(*info)), {200}))
        pages.append((reverse("admin:{}_{}_add".format(*info)), {200, 403}))
    return pages


@pytest.mark.django_db
def test_signed_out_pages_carry_the_policies(client):
    for path in ["/accounts/login/", "/accounts/password/reset/", "/admin/login/", "/healthz"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_policies(response, path)
    for path in ["/api/v1/docs/", "/api/v1/docs/?script", "/api/v1/schema/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_policies(response, path)
        assert_not_cached(response, path)


@pytest.mark.django_db
def test_every_signed_in_portal_page_carries_the_policies_and_is_not_cached(
    client, pm, ticket, site
):
    client.force_login(pm)
    attachment = ticket.attachments.first()
    paths = [
        "/",
        "/tickets/new/",
        f"/tickets/{ticket.reference}/",
        "/support/",
        f"/sites/{site.slug}/members/",
        f"/sites/{site.slug}/sla-report/",
        "/accounts/two-factor/",
        "/accounts/password/change/",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_policies(response, path)
        assert_not_cached(response, path)
    # A download has a stricter policy of its own: nothing in it may run or load.
    download = client.get(f"/tickets/{ticket.reference}/attachments/{attachment.pk}/")
    assert download["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert_not_cached(download, "download")


@pytest.mark.django_db
def test_every_admin_page_carries_the_policies_and_is_not_cached(client):
    client.force_login(SuperuserFactory())
    for path, statuses in admin_pages():
        response = client.get(path)
        assert response.status_code in statuses, path
        assert_policies(response, path)
        assert_not_cached(response, path)


@pytest.mark.django_db
def test_api_responses_are_not_cached_with_a_token_or_without(client, pm, ticket):
    _, token = api_token_issue(user=pm, name="headers")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for path, headers, status in [
        ("/api/v1/tickets/", auth, 200),
        (f"/api/v1/tickets/{ticket.reference}/", auth, 200),
        ("/api/v1/tickets/", {}, 401),
    ]:
        response = client.get(path, **headers)
        assert response.status_code == status, path
        assert_policies(response, path)
        assert_not_cached(response, path)
