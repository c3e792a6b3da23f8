"""Who may do what: viewers read only; it members file and reply but do not manage members."""

import pytest
from django.urls import reverse

from tickets.models import Status


@pytest.mark.django_db
def test_viewer_cannot_open_the_new_ticket_form(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("ticket-new"))
    assert response.status_code == 403
    assert "project managers and IT staff" in response.content.decode()


@pytest.mark.django_db
def test_viewer_cannot_file_a_ticket_by_posting(client, site, viewer):
    client.force_login(viewer)
    response = client.post(
        reverse("ticket-new"),
        {"site": site.pk, "kind": "general", "title": "Hi", "description": "Text"},
    )
    assert response.status_code == 403
    assert not site.tickets.exists()


@pytest.mark.django_db
def test_viewer_reads_the_ticket_but_gets_no_reply_form_and_cannot_reply(client, viewer, ticket):
    client.force_login(viewer)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert "Pharmacy module down" in page
    assert f'action="/tickets/{ticket.reference}/reply/"' not in page
    assert "Only your site's project managers and IT staff can reply" in page
    assert "Mark resolved" not in page

    response = client.post(reverse("ticket-reply", args=[ticket.reference]), {"body": "Me too"})
    assert response.status_code == 403
    response = client.post(
        reverse("ticket-status", args=[ticket.reference]), {"status": "resolved"}
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.comments.count() == 0 and ticket.status == Status.NEW


@pytest.mark.django_db
def test_viewer_sees_no_new_ticket_link(client, viewer):
    client.force_login(viewer)
    page = client.get(reverse("dashboard")).content.decode()
    assert reverse("ticket-new") not in page


@pytest.mark.django_db
def test_it_member_files_and_replies(client, site, it, ticket):
    client.force_login(it)
    response = client.post(reverse("ticket-reply", args=[ticket.reference]), {"body": "More info"})
    assert response.status_code == 302
    assert ticket.comments.get().body == "More info"


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ["it", "viewer"])
def test_it_and_viewer_cannot_manage_members(client, site, pm, role_user, request):
    user = request.getfixturevalue(role_user)
    client.force_login(user)
    assert client.get(reverse("site-members", args=[site.slug])).status_code == 403
    response = client.post(
        reverse("member-invite", args=[site.slug]),
        {"name": "Nora Quinn", "email": "new@mercy.example", "role": "pm"},
    )
    assert response.status_code == 403
    response = client.post(reverse("member-role", args=[site.slug, pm.pk]), {"role": "viewer"})
    assert response.status_code == 403
    response = client.post(reverse("member-remove", args=[site.slug, pm.pk]))
    assert response.status_code == 403
    assert site.memberships.filter(user=pm, role="pm").exists()
    assert not site.memberships.filter(user__email="new@mercy.example").exists()


@pytest.mark.django_db
def test_a_viewer_posting_escalate_gets_the_403_page_and_nothing_escalates(client, viewer, ticket):
    level = ticket.escalation_level
    client.force_login(viewer)
    response = client.post(f"/tickets/{ticket.reference}/escalate/")
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.escalation_level == level
