"""The dashboard and the ticket page cost a fixed number of SQL queries, however many
tickets or comments there are."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.portal.helpers import png
from tests.tickets.factories import CommentFactory, StaffFactory, TicketFactory
from tickets import services
from tickets.models import Comment, Ticket


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _tickets(site, reporter, n):
    Ticket.objects.bulk_create(
        TicketFactory.build(site=site, reporter=reporter, kind="incident", impact="high")
        for _ in range(n)
    )


@pytest.mark.django_db
def test_dashboard_queries_do_not_grow_with_tickets(client, site, other_site, pm):
    from tickets.models import SiteMembership

    SiteMembership.objects.create(user=pm, site=other_site, role="it")  # two sites: site column
    client.force_login(pm)
    _tickets(site, pm, 5)
    few = _queries(client, reverse("dashboard"))
    _tickets(other_site, pm, 195)
    many = _queries(client, reverse("dashboard"))
    assert Ticket.objects.count() == 200
    assert few == many


@pytest.mark.django_db
def test_ticket_page_queries_do_not_grow_with_comments(client, site, pm, ticket):
    agent = StaffFactory()

    def add(n):
        Comment.objects.bulk_create(
            CommentFactory.build(ticket=ticket, author=author)
            for _, author in zip(range(n), [pm, agent] * n, strict=False)
        )

    add(4)
    services.comment_post(ticket=ticket, author=pm, body="with file", files=[png("a.png")])
    client.force_login(pm)
    url = reverse("ticket-detail", args=[ticket.reference])
    few = _queries(client, url)
    add(194)
    services.comment_post(ticket=ticket, author=agent, body="file", files=[png("b.png")])
    many = _queries(client, url)
    assert ticket.comments.count() == 200
    assert few == many
