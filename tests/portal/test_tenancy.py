"""Tenancy in the portal: a member of another site gets a 404 for every page, form and
download that names this site's objects, exactly as for something that does not exist."""

import re

import pytest
from django.urls import reverse

from tickets.models import Role


def _site_urls(site, ticket, member_user):
    """(method, url, data) for every page and action that names one of `site`'s objects."""
    attachment = ticket.attachments.get()
    ref = ticket.reference
    return [
        ("get", reverse("ticket-detail", args=[ref]), None),
        ("post", reverse("ticket-reply", args=[ref]), {"body": "Hello?"}),
        ("post", reverse("ticket-status", args=[ref]), {"status": "resolved"}),
        ("get", reverse("attachment-download", args=[ref, attachment.pk]), None),
        ("get", reverse("site-members", args=[site.slug]), None),
        (
            "post",
            reverse("member-invite", args=[site.slug]),
            {"name": "X Y", "email": "x@y.example", "role": "pm"},
        ),
        ("post", reverse("member-role", args=[site.slug, member_user.pk]), {"role": Role.VIEWER}),
        ("post", reverse("member-remove", args=[site.slug, member_user.pk]), None),
    ]


@pytest.mark.django_db
def test_member_of_another_site_gets_404_for_every_page_and_download(
    client, site, ticket, pm, it, outsider
):
    client.force_login(outsider)
    for method, url, data in _site_urls(site, ticket, it):
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 404, (method, url, response.status_code)
    # And nothing changed behind the 404s.
    ticket.refresh_from_db()
    assert ticket.status == "new"
    assert ticket.comments.count() == 0
    assert site.memberships.count() == 2


@pytest.mark.django_db
def test_404_for_another_site_looks_like_404_for_nothing(client, ticket, outsider):
    client.force_login(outsider)
    theirs = client.get(reverse("ticket-detail", args=[ticket.reference]))
    missing = client.get(reverse("ticket-detail", args=["RX-999999"]))
    assert theirs.status_code == missing.status_code == 404
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub(b"", theirs.content) == token.sub(b"", missing.content)


@pytest.mark.django_db
def test_attachment_of_one_ticket_is_not_served_under_another_tickets_reference(
    client, site, pm, ticket
):
    from tickets import services

    other = services.ticket_create(
        actor=pm, site=site, kind="general", title="Q", description="A question."
    )
    client.force_login(pm)
    attachment = ticket.attachments.get()
    url = reverse("attachment-download", args=[other.reference, attachment.pk])
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_dashboard_and_search_never_list_another_sites_tickets(client, ticket, outsider):
    client.force_login(outsider)
    page = client.get(reverse("dashboard"), {"q": ticket.reference, "state": "all"})
    assert page.status_code == 200
    assert f'data-reference="{ticket.reference}"' not in page.content.decode()
    assert page.context["page"].paginator.count == 0
    page = client.get(reverse("dashboard"), {"q": "Pharmacy", "state": "all"})
    assert "Pharmacy module down" not in page.content.decode()


@pytest.mark.django_db
def test_new_ticket_for_another_site_is_refused_as_a_form_error(client, site, outsider):
    client.force_login(outsider)
    response = client.post(
        reverse("ticket-new"),
        {"site": site.pk, "kind": "general", "title": "Sneaky", "description": "In."},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not site.tickets.exists()


@pytest.mark.django_db
def test_signed_out_visitor_is_sent_to_sign_in_for_every_page(client, site, ticket, it):
    for method, url, data in _site_urls(site, ticket, it):
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
