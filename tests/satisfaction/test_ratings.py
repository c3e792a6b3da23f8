"""The one-click rating in the reporter's "resolved" email: a signed link that works once, for
its own person only, expires, and whose rating shows on the ticket, the dashboard and the
SLA report."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from satisfaction.models import TicketRating
from tests.sla.conftest import MONDAY
from tests.sla.helpers import file_ticket
from tests.smtp_server import plain_text, smtp_server, smtp_settings
from tests.tickets.factories import ClientSiteFactory, MembershipFactory, SuperuserFactory
from tickets import services
from tickets.models import Notification, Role, Status
from tickets.outbox import notifications_deliver_due

pytestmark = pytest.mark.django_db

RESOLVED_AT = MONDAY + datetime.timedelta(hours=2)
LINK = re.compile(r"(Good|Bad):\s+(\S+/ratings/\S+/)")


def resolve(ticket, actor, *, at=RESOLVED_AT):
    with time_machine.travel(at, tick=False):
        return services.ticket_status_change(ticket=ticket, actor=actor, status=Status.RESOLVED)


def resolved_emails(settings, ticket, actor, *, at=RESOLVED_AT) -> dict[str, str]:
    """Resolve the ticket and deliver the emails through a real SMTP server: each recipient's
    text body."""
    with smtp_server() as (server, port):
        smtp_settings(settings, port)
        resolve(ticket, actor, at=at)
        with time_machine.travel(at, tick=False):
            notifications_deliver_due(now=at)
    return {m["To"]: plain_text(m) for m in server.messages if "Resolved" in m["Subject"]}


def links_in(text: str) -> dict[str, str]:
    """{"good": path, "bad": path} from an email body."""
    return {choice.lower(): "/" + url.split("/", 3)[3] for choice, url in LINK.findall(text)}


@pytest.fixture
def setup(site, pm, it, agent):
    ticket = file_ticket(actor=pm, site=site, impact="high", at=MONDAY)
    return ticket


def test_only_the_reporters_resolved_email_carries_the_two_rating_links(
    settings, setup, pm, it, agent
):
    emails = resolved_emails(settings, setup, agent)
    assert set(emails) == {pm.email, it.email}
    assert set(links_in(emails[pm.email])) == {"good", "bad"}
    assert links_in(emails[it.email]) == {}
    # The email still carries no patient data: no description.
    assert "MRN" not in emails[pm.email]


def test_the_link_records_the_rating_at_once_and_works_only_once(
    settings, client, setup, pm, agent
):
    links = links_in(resolved_emails(settings, setup, agent)[pm.email])
    client.force_login(pm)
    with time_machine.travel(RESOLVED_AT + datetime.timedelta(hours=1), tick=False):
        page = client.get(links["good"])
    assert page.status_code == 200
    assert "Your rating of" in page.content.decode() and "Good" in page.content.decode()
    rating = TicketRating.objects.get(ticket=setup)
    assert (rating.choice, rating.rated_by) == ("good", pm)

    # A little later, well within the link's life (never on today's clock: links expire).
    with time_machine.travel(RESOLVED_AT + datetime.timedelta(hours=2), tick=False):
        again = client.get(links["bad"])  # the other link of the same email
        assert again.status_code == 409
        assert "already used" in again.content.decode()
        assert TicketRating.objects.get(ticket=setup).choice == "good"

        comment = client.post(
            reverse("rating-comment", args=[links["good"].split("/")[2]]),
            {"comment": "Quick and clear, thank you."},
        )
    assert comment.status_code == 302
    page = client.get(reverse("ticket-detail", args=[setup.reference])).content.decode()
    assert "Your rating" in page and "Quick and clear, thank you." in page


def test_an_expired_link_says_so_and_records_nothing(settings, client, setup, pm, agent):
    settings.RATING_LINK_MAX_AGE_DAYS = 30
    links = links_in(resolved_emails(settings, setup, agent)[pm.email])
    with time_machine.travel(RESOLVED_AT + datetime.timedelta(days=30, minutes=1), tick=False):
        client.force_login(pm)
        page = client.get(links["good"])
    assert page.status_code == 410
    assert "has expired" in page.content.decode()
    assert not TicketRating.objects.exists()
    with time_machine.travel(RESOLVED_AT + datetime.timedelta(days=29), tick=False):
        client.force_login(pm)
        assert client.get(links["good"]).status_code == 200


def test_someone_else_using_the_link_is_refused(settings, client, setup, pm, it, agent):
    links = links_in(resolved_emails(settings, setup, agent)[pm.email])
    client.force_login(it)  # a colleague at the same site, forwarded the email
    with time_machine.travel(RESOLVED_AT, tick=False):
        page = client.get(links["bad"])
    assert page.status_code == 403
    assert "sent to someone else" in page.content.decode()
    assert not TicketRating.objects.exists()


def test_a_link_for_a_ticket_of_a_site_the_person_left_is_refused(
    settings, client, setup, pm, agent
):
    links = links_in(resolved_emails(settings, setup, agent)[pm.email])
    other = ClientSiteFactory(name="North", slug="north")
    pm.site_memberships.all().delete()
    MembershipFactory(site=other, user=pm, role=Role.PM)
    client.force_login(pm)
    with time_machine.travel(RESOLVED_AT, tick=False):
        page = client.get(links["good"])
    assert page.status_code == 404
    assert "not valid" in page.content.decode()
    assert not TicketRating.objects.exists()


def test_a_tampered_link_is_refused_and_sign_in_comes_first(settings, client, setup, pm, agent):
    links = links_in(resolved_emails(settings, setup, agent)[pm.email])
    anonymous = client.get(links["good"])
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(pm)
    assert client.get(links["good"][:-6] + "xxxxx/").status_code == 404
    assert not TicketRating.objects.exists()


def test_a_reopened_and_resolved_again_ticket_can_be_rated_again(
    settings, client, setup, pm, agent
):
    first = links_in(resolved_emails(settings, setup, agent)[pm.email])
    client.force_login(pm)
    with time_machine.travel(RESOLVED_AT, tick=False):
        assert client.get(first["bad"]).status_code == 200
        services.ticket_status_change(ticket=setup, actor=pm, status=Status.IN_PROGRESS)
    later = RESOLVED_AT + datetime.timedelta(hours=3)
    second = links_in(resolved_emails(settings, setup, agent, at=later)[pm.email])
    assert second["good"] != first["good"]
    with time_machine.travel(later, tick=False):
        assert client.get(second["good"]).status_code == 200
    assert list(TicketRating.objects.order_by("rated_at").values_list("choice", flat=True)) == [
        "bad",
        "good",
    ]


def test_ratings_show_in_the_back_office_report_dashboard_and_ticket_page(
    settings, client, site, pm, agent
):
    tickets = [
        file_ticket(actor=pm, site=site, impact="high", at=MONDAY, title=f"Outage {i}")
        for i in range(3)
    ]
    choices = ["good", "good", "bad"]
    client.force_login(pm)
    for ticket, choice in zip(tickets, choices, strict=True):
        link = links_in(resolved_emails(settings, ticket, agent)[pm.email])[choice]
        with time_machine.travel(RESOLVED_AT, tick=False):
            assert client.get(link).status_code == 200
    # A rating in another month does not count in November's report.
    TicketRating.objects.filter(ticket=tickets[2]).update(
        rated_at=datetime.datetime(2026, 10, 20, 12, tzinfo=datetime.UTC)
    )

    staff = SuperuserFactory()
    client.force_login(staff)
    with time_machine.travel(RESOLVED_AT, tick=False):
        report = client.get(
            reverse("backoffice:sla-report"), {"site": site.slug, "month": "2026-11"}
        )
        assert report.context["report"].ratings.good == 2
        assert report.context["report"].ratings.bad == 0
        assert "100.0% good" in report.content.decode()
        csv = client.get(
            reverse("backoffice:sla-report"),
            {"site": site.slug, "month": "2026-11", "format": "csv"},
        ).content.decode()
        assert "ratings,2,0,100.0" in csv
        dashboard = client.get(reverse("backoffice:dashboard"))
        assert dashboard.context["ratings_summary"].good_percent == 100.0
        assert tickets[0].reference in dashboard.content.decode()
        page = client.get(reverse("admin:tickets_ticket_change", args=[tickets[2].pk]))
    assert "Bad" in page.content.decode() and "Client rating" in page.content.decode()

    client.force_login(pm)
    with time_machine.travel(RESOLVED_AT, tick=False):
        portal = client.get(reverse("site-sla-report", args=[site.slug]), {"month": "2026-11"})
    assert portal.context["report"].ratings.good == 2


def test_the_resolved_email_row_records_the_links_only_for_the_reporter(setup, pm, it, agent):
    resolve(setup, agent)
    rows = Notification.objects.filter(event=Notification.Event.STATUS_RESOLVED)
    by_recipient = {row.recipient: row.body_text for row in rows}
    assert "/ratings/" in by_recipient[pm.email]
    assert "/ratings/" not in by_recipient[it.email]
