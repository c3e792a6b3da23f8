"""The staff back office in Django admin: pages open, staff work tickets through the services
(history written, refusals shown as form errors), bulk actions, the queue, the ledger."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib import admin
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sla.models import BusinessCalendar, Holiday, ScanRun, WorkingPeriod
from tests.tickets.factories import (
    ClientSiteFactory,
    CommentFactory,
    MembershipFactory,
    StaffFactory,
    SuperuserFactory,
    TicketFactory,
    UserFactory,
)
from tickets import services
from tickets.models import (
    Comment,
    Impact,
    Kind,
    Notification,
    Role,
    SiteMembership,
    SLAState,
    Status,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def change_url(ticket: Ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def work_ticket(client, ticket: Ticket, **fields):
    """Submit the ticket page's form as a browser would: the current values of status, impact
    and assignee, the inline management forms, and the fields given."""
    page = client.get(change_url(ticket))
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {"visibility": "public", "body": ""}
    for name in ("status", "impact", "assignee"):
        if name in form.fields:
            value = form.initial.get(name)
            data[name] = "" if value is None else value
            data[f"{name}_was"] = form.fields[f"{name}_was"].initial
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for key, value in management.initial.items():
            data[f"{management.prefix}-{key}"] = value
    data.update({k: v for k, v in fields.items() if v is not None})
    return client.post(change_url(ticket), data)


@pytest.fixture
def staff(client):
    agent = StaffFactory()
    client.force_login(agent)
    return agent


@pytest.fixture
def frozen():
    """The clock at NOW, for tests whose dates must stay in the future; request it first so
    the other fixtures are made at NOW too."""
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def ticket():
    site = ClientSiteFactory()
    pm = MembershipFactory(site=site, role=Role.PM).user
    return TicketFactory(site=site, reporter=pm, kind=Kind.GENERAL)


def test_every_registered_admin_page_opens_for_a_superuser(client):
    client.force_login(SuperuserFactory())
    site = ClientSiteFactory()
    MembershipFactory(site=site)
    ticket = TicketFactory(site=site, kind=Kind.INCIDENT, impact="high")
    CommentFactory(ticket=ticket)
    TicketEvent.objects.create(ticket=ticket, action=TicketEvent.Action.CREATED)
    Notification.objects.create(ticket=ticket, event="ticket_filed", recipient="pm@h.example")
    ScanRun.objects.create(started_at=NOW, finished_at=NOW, counts={"breaches": 1})
    calendar = BusinessCalendar.objects.create(name="Office hours")
    WorkingPeriod.objects.create(calendar=calendar, weekday=0, start="09:00", end="17:00")
    Holiday.objects.create(calendar=calendar, date="2026-12-25", name="Christmas")

    opened = []
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        response = client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert response.status_code == 200, info
        response = client.get(reverse("admin:{}_{}_add".format(*info)))
        assert response.status_code in (200, 403), info
        obj = model._default_manager.first()
        if obj is not None:
            response = client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
            assert response.status_code == 200, info
        opened.append(info)
    for info in [
        ("tickets", "ticket"),
        ("tickets", "clientsite"),
        ("tickets", "notification"),
        ("sla", "slapolicy"),
        ("sla", "businesscalendar"),
        ("sla", "scanrun"),
    ]:
        assert info in opened


def test_site_viewer_cannot_reach_admin_or_staff_pages(client):
    viewer = MembershipFactory(role=Role.VIEWER).user
    client.force_login(viewer)
    for url in ("/admin/", reverse("admin:tickets_ticket_changelist"), "/staff/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_staff_without_model_permissions_can_open_the_queue_and_a_ticket(client, staff, ticket):
    assert client.get(reverse("admin:tickets_ticket_changelist")).status_code == 200
    assert client.get(change_url(ticket)).status_code == 200
    assert client.get(reverse("admin:tickets_notification_changelist")).status_code == 200


def test_public_reply_from_the_ticket_page_is_posted_through_the_service(client, staff, ticket):
    response = work_ticket(client, ticket, body="We are on it.", _continue="1")
    assert response.status_code == 302
    comment = Comment.objects.get(ticket=ticket)
    assert (comment.public, comment.by_staff, comment.author) == (True, True, staff)
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS  # a first staff reply takes a new ticket on
    actions = list(ticket.events.values_list("action", "actor"))
    assert (TicketEvent.Action.COMMENTED, staff.pk) in actions
    assert (TicketEvent.Action.STATUS_CHANGED, staff.pk) in actions


def test_internal_note_is_kept_from_the_client_and_does_not_change_status(client, staff, ticket):
    work_ticket(client, ticket, body="Checked the logs.", visibility="internal")
    comment = Comment.objects.get(ticket=ticket)
    assert comment.public is False
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert ticket.events.filter(action=TicketEvent.Action.NOTE_ADDED, actor=staff).exists()


def test_reply_with_estimate_records_the_estimate_in_history(frozen, client, staff, ticket):
    work_ticket(
        client,
        ticket,
        body="Fixed by Friday.",
        estimated_resolution_at_0="2026-11-27",
        estimated_resolution_at_1="17:00:00",
    )
    comment = Comment.objects.get(ticket=ticket)
    # Typed in the site's zone (New York, shown beside the field): 17:00 EST is 22:00 UTC.
    assert comment.estimated_resolution_at == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    event = ticket.events.get(action=TicketEvent.Action.COMMENTED)
    recorded = datetime.fromisoformat(event.changes["estimated_resolution_at"][1])
    assert recorded == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def test_an_estimate_typed_at_15_00_reaches_the_client_as_15_00_in_the_zone_shown(
    client, staff, ticket
):
    with time_machine.travel(NOW, tick=False):
        page = client.get(change_url(ticket)).content.decode()
        assert "Estimated resolution (America/New_York)" in page
        work_ticket(
            client,
            ticket,
            body="Done by three.",
            estimated_resolution_at_0="2026-11-26",
            estimated_resolution_at_1="15:00:00",
        )
    reply = Notification.objects.get(ticket=ticket, event=Notification.Event.PUBLIC_REPLY)
    assert "Thu 26 Nov 2026, 15:00 EST" in reply.body_text


def test_an_agent_with_a_time_zone_of_their_own_enters_and_reads_times_in_it(client, staff, ticket):
    client.post(reverse("backoffice:preferences"), {"timezone": "Europe/London"})
    with time_machine.travel(NOW, tick=False):
        page = client.get(change_url(ticket)).content.decode()
        assert "Estimated resolution (Europe/London)" in page
        assert "Times in Europe/London" in page
        work_ticket(
            client,
            ticket,
            body="Done by three, London time.",
            estimated_resolution_at_0="2026-11-26",
            estimated_resolution_at_1="15:00:00",
        )
    comment = Comment.objects.get(ticket=ticket)
    assert comment.estimated_resolution_at == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    reply = Notification.objects.get(ticket=ticket, event=Notification.Event.PUBLIC_REPLY)
    assert "Thu 26 Nov 2026, 10:00 EST" in reply.body_text  # the client reads site time


def test_an_unknown_time_zone_preference_is_refused_with_a_form_error(client, staff):
    response = client.post(reverse("backoffice:preferences"), {"timezone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_status_assignee_and_impact_changes_write_history(client, staff):
    site = ClientSiteFactory()
    incident = TicketFactory(site=site, kind=Kind.INCIDENT, impact="low")
    other = StaffFactory()
    work_ticket(client, incident, status=Status.IN_PROGRESS, impact="high", assignee=other.pk)
    incident.refresh_from_db()
    assert (incident.status, incident.impact, incident.assignee) == ("in_progress", "high", other)
    changes = {e.action: e.changes for e in incident.events.filter(actor=staff)}
    assert changes[TicketEvent.Action.STATUS_CHANGED] == {"status": ["new", "in_progress"]}
    assert changes[TicketEvent.Action.IMPACT_CHANGED] == {"impact": ["low", "high"]}
    assert changes[TicketEvent.Action.ASSIGNED]["assignee"][1] == str(other)


def test_reply_does_not_undo_a_status_change_made_while_the_page_was_open(client, staff, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.WAITING_ON_CLIENT)
    page = client.get(change_url(ticket))
    stale = {
        "status": Status.WAITING_ON_CLIENT,
        "status_was": page.context["adminform"].form.fields["status_was"].initial,
    }
    assert stale["status_was"] == Status.WAITING_ON_CLIENT
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.IN_PROGRESS)  # the client replied
    work_ticket(client, ticket, body="Thanks, looking at it.", **stale)
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert Comment.objects.filter(ticket=ticket, public=True).exists()
    assert not ticket.events.filter(action=TicketEvent.Action.STATUS_CHANGED).exists()


def test_a_site_member_is_not_offered_as_assignee(client, staff, ticket):
    site_member = MembershipFactory(site=ticket.site, role=Role.IT).user
    response = work_ticket(
        client, ticket, body="Assigning to the hospital.", assignee=site_member.pk
    )
    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["adminform"].form.errors["assignee"])
    assert not Comment.objects.filter(ticket=ticket).exists()
    assert not ticket.events.exists()


def test_refused_change_shows_a_form_error_and_changes_nothing(client, staff, ticket):
    # The reply and the impact come first and succeed; the status move is then refused.
    incident = TicketFactory(
        site=ticket.site, reporter=ticket.reporter, kind=Kind.INCIDENT, impact=Impact.LOW
    )
    Ticket.objects.filter(pk=incident.pk).update(status=Status.RESOLVED)
    response = work_ticket(
        client,
        incident,
        body="Looking into it again.",
        impact=Impact.HIGH,
        status=Status.WAITING_ON_CLIENT,
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "cannot be moved to waiting on client" in str(form.errors["status"])
    # The page comes back as submitted, the reply still in its box.
    assert form["body"].value() == "Looking into it again."
    # The reply and the impact were part of the same submission: they rolled back with it.
    incident.refresh_from_db()
    assert (incident.impact, incident.status) == (Impact.LOW, Status.RESOLVED)
    assert not Comment.objects.filter(ticket=incident).exists()
    assert not incident.events.exists()
    assert not Notification.objects.filter(ticket=incident).exists()


def test_reply_to_a_closed_ticket_is_refused_with_a_message(client, staff, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    response = work_ticket(client, ticket, body="Hello?")
    assert response.status_code == 200
    assert "This ticket is closed" in response.content.decode()
    assert not Comment.objects.exists()


def test_impossible_status_move_is_shown_on_the_status_field(client, staff, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.RESOLVED)
    response = work_ticket(client, ticket, status=Status.WAITING_ON_CLIENT)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "cannot be moved to waiting on client" in str(errors["status"])


def test_estimate_without_a_reply_is_refused(client, staff, ticket):
    response = work_ticket(
        client, ticket, estimated_resolution_at_0="2026-11-27", estimated_resolution_at_1="17:00"
    )
    assert response.status_code == 200
    assert "Write the public reply" in str(response.context["adminform"].form.errors["body"])


def test_staff_files_a_ticket_on_behalf_of_a_site_pm(client, staff):
    site = ClientSiteFactory()
    pm = MembershipFactory(site=site, role=Role.PM).user
    response = client.post(
        reverse("admin:tickets_ticket_add"),
        {
            "site": site.pk,
            "reporter": pm.pk,
            "kind": Kind.GENERAL,
            "impact": "",
            "title": "Phoned in: report export fails",
            "description": "The PM called the support line.",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.reference.startswith("RX-")
    assert ticket.reporter == pm
    created = ticket.events.get(action=TicketEvent.Action.CREATED)
    assert created.actor == staff


def test_filing_for_a_viewer_is_refused_on_the_reporter_field(client, staff):
    site = ClientSiteFactory()
    viewer = MembershipFactory(site=site, role=Role.VIEWER).user
    response = client.post(
        reverse("admin:tickets_ticket_add"),
        {"site": site.pk, "reporter": viewer.pk, "kind": Kind.GENERAL, "impact": "",
         "title": "x", "description": "y"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "project manager or IT" in str(response.context["adminform"].form.errors["reporter"])
    assert not Ticket.objects.exists()


def _bulk(client, action: str, tickets, **extra):
    data = {"action": action, "_selected_action": [t.pk for t in tickets], "index": 0}
    data.update(extra)
    return client.post(reverse("admin:tickets_ticket_changelist"), data, follow=True)


def test_bulk_assign_to_me_goes_through_the_service(client, staff):
    tickets = TicketFactory.create_batch(3)
    response = _bulk(client, "assign_to_me", tickets)
    assert response.status_code == 200
    assert set(Ticket.objects.values_list("assignee", flat=True)) == {staff.pk}
    assert TicketEvent.objects.filter(action="assigned", actor=staff).count() == 3


def test_bulk_assign_to_chosen_staff_member(client, staff):
    tickets = TicketFactory.create_batch(2)
    other = StaffFactory()
    _bulk(client, "assign_to_chosen", tickets, assignee=other.pk)
    assert set(Ticket.objects.values_list("assignee", flat=True)) == {other.pk}


def test_bulk_status_change_reports_refusals_and_moves_the_rest(client, staff):
    movable = TicketFactory(status=Status.IN_PROGRESS)
    closed = TicketFactory(status=Status.CLOSED)
    response = _bulk(client, "change_status", [movable, closed], status=Status.WAITING_ON_CLIENT)
    movable.refresh_from_db()
    closed.refresh_from_db()
    assert movable.status == Status.WAITING_ON_CLIENT
    assert closed.status == Status.CLOSED
    text = response.content.decode()
    assert "1 ticket(s) refused" in text
    assert closed.reference in text
    assert TicketEvent.objects.filter(ticket=movable, action="status_changed").exists()


def test_bulk_status_change_without_a_status_changes_nothing(client, staff):
    ticket = TicketFactory()
    response = _bulk(client, "change_status", [ticket])
    assert "Choose the new status" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_queue_lists_what_is_due_soonest_first_with_time_left_or_overdue(client, staff):
    with time_machine.travel(NOW, tick=False):
        later = TicketFactory(response_due_at=NOW + timedelta(hours=5))
        overdue = TicketFactory(
            response_due_at=NOW - timedelta(hours=2),
            sla_state=SLAState.BREACHED,
            responded_at=NOW - timedelta(hours=1),
            next_update_due_at=NOW - timedelta(minutes=65),
        )
        soon = TicketFactory(response_due_at=NOW + timedelta(minutes=12), sla_state="at_risk")
        nothing_due = TicketFactory(status=Status.RESOLVED)
        response = client.get(reverse("admin:tickets_ticket_changelist"))
    rows = list(response.context["cl"].result_list)
    assert rows == [overdue, soon, later, nothing_due]
    text = response.content.decode()
    assert "breaches in 12 min" in text
    assert "overdue 1 h 05 min" in text
    assert "breaches in 5 h 00 min" in text


def test_saved_filters_mine_unassigned_and_breached(client, staff):
    mine = TicketFactory(assignee=staff)
    unassigned = TicketFactory()
    breached = TicketFactory(assignee=StaffFactory(), sla_state=SLAState.BREACHED)
    TicketFactory(assignee=staff, status=Status.CLOSED)
    url = reverse("admin:tickets_ticket_changelist")

    def listed(query):
        return set(client.get(url + query).context["cl"].result_list)

    assert listed("?queue=mine") == {mine}
    assert listed("?queue=unassigned") == {unassigned}
    assert listed("?queue=breached") == {breached}
    assert listed(f"?site__id__exact={mine.site_id}") == {mine}


def _tickets(count: int, sites, agents) -> None:
    reporter = UserFactory()
    Ticket.objects.bulk_create(
        Ticket(
            reference=f"RX-Q{count}-{i}",
            site=sites[i % len(sites)],
            reporter=reporter,
            assignee=agents[i % len(agents)],
            kind=Kind.INCIDENT,
            impact="high",
            title=f"Outage {i}",
            description="-",
            response_due_at=NOW + timedelta(minutes=i),
        )
        for i in range(count)
    )


def test_ticket_changelist_uses_as_many_queries_for_1000_tickets_as_for_10(client):
    admin_user = SuperuserFactory()
    client.force_login(admin_user)
    sites = ClientSiteFactory.create_batch(3)
    agents = StaffFactory.create_batch(3)
    url = reverse("admin:tickets_ticket_changelist")

    def queries() -> int:
        client.get(url)  # warm the session and content types
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    _tickets(10, sites, agents)
    small = queries()
    _tickets(990, sites, agents)
    assert Ticket.objects.count() == 1000
    assert queries() == small


def test_failed_notification_is_sent_again_from_the_ledger(
    client, staff, django_capture_on_commit_callbacks
):
    ticket = TicketFactory()
    failed = Notification.objects.create(
        ticket=ticket,
        event=Notification.Event.PUBLIC_REPLY,
        recipient="pm@hospital.example",
        subject=f"[{ticket.reference}] update",
        status=Notification.Status.FAILED,
        attempts=5,
        last_error="SMTPServerDisconnected: gone",
    )
    sent = Notification.objects.create(
        ticket=ticket,
        event=Notification.Event.TICKET_FILED,
        recipient="pm@hospital.example",
        status=Notification.Status.SENT,
    )
    ledger = reverse("admin:tickets_notification_changelist")
    page = client.get(ledger + "?status__exact=failed")
    assert list(page.context["cl"].result_list) == [failed]
    assert 'class="notification-failed"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ledger,
            {"action": "send_again", "_selected_action": [failed.pk, sent.pk], "index": 0},
            follow=True,
        )
    assert "1 notification(s) queued to be sent again." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == Notification.Status.SENT
    assert [m.to for m in mail.outbox] == [["pm@hospital.example"]]


def test_ledger_filters_by_site_and_event(client, staff):
    one, two = TicketFactory(), TicketFactory()
    a = Notification.objects.create(ticket=one, event="client_update", recipient="a@h.example")
    Notification.objects.create(ticket=two, event="client_update", recipient="b@h.example")
    Notification.objects.create(ticket=one, event="ticket_filed", recipient="a@h.example")
    url = reverse("admin:tickets_notification_changelist")
    response = client.get(f"{url}?site={one.site.slug}&event=client_update")
    assert list(response.context["cl"].result_list) == [a]


def test_ticket_page_shows_the_clocks_and_the_notifications_sent(client, staff):
    with time_machine.travel(NOW, tick=False):
        ticket = TicketFactory(
            kind=Kind.INCIDENT,
            impact="high",
            sla_state=SLAState.AT_RISK,
            response_due_at=NOW + timedelta(minutes=12),
            escalation_level=2,
        )
        Notification.objects.create(
            ticket=ticket, event="response_at_risk", recipient="queue@rxhealth.example"
        )
        text = client.get(change_url(ticket)).content.decode()
    assert "breaches in 12 min" in text
    assert "First response" in text
    assert "due Wed 25 Nov 2026, 10:12 EST" in text
    assert "queue@rxhealth.example" in text
    assert "Escalation level" in text


def test_memberships_are_added_and_removed_from_the_sites_page(client):
    client.force_login(SuperuserFactory())
    site = ClientSiteFactory()
    old = MembershipFactory(site=site, role=Role.VIEWER)
    newcomer = UserFactory()
    url = reverse("admin:tickets_clientsite_change", args=[site.pk])
    data = {
        "name": site.name,
        "slug": site.slug,
        "timezone": site.timezone,
        "is_active": "on",
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": old.pk,
        "memberships-0-site": site.pk,
        "memberships-0-user": old.user.pk,
        "memberships-0-role": Role.VIEWER,
        "memberships-0-DELETE": "on",
        "memberships-1-site": site.pk,
        "memberships-1-user": newcomer.pk,
        "memberships-1-role": Role.IT,
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(SiteMembership.objects.filter(site=site).values_list("user", "role")) == [
        (newcomer.pk, Role.IT)
    ]


def test_refused_membership_change_is_shown_on_the_sites_page_and_nothing_changes(
    client, monkeypatch
):
    from tickets import services
    from tickets.errors import Conflict

    def refuse(**kwargs):
        raise Conflict("A site needs at least one project manager.")

    monkeypatch.setattr(services, "membership_remove", refuse)
    client.force_login(SuperuserFactory())
    site = ClientSiteFactory()
    pm = MembershipFactory(site=site, role=Role.PM)
    response = client.post(
        reverse("admin:tickets_clientsite_change", args=[site.pk]),
        {
            "name": "Renamed",
            "slug": site.slug,
            "timezone": site.timezone,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": pm.pk,
            "memberships-0-site": site.pk,
            "memberships-0-user": pm.user.pk,
            "memberships-0-role": Role.PM,
            "memberships-0-DELETE": "on",
        },
    )
    assert response.status_code == 200
    assert "A site needs at least one project manager." in response.content.decode()
    assert SiteMembership.objects.filter(pk=pm.pk).exists()
    site.refresh_from_db()
    assert site.name != "Renamed"


def test_assignee_autocomplete_offers_only_staff(client, staff):
    StaffFactory(username="agent-smith")
    UserFactory(username="agent-client")
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "term": "agent-",
            "app_label": "tickets",
            "model_name": "ticket",
            "field_name": "assignee",
        },
    )
    assert response.status_code == 200
    names = [r["text"] for r in response.json()["results"]]
    assert "agent-smith" in names
    assert "agent-client" not in names


@pytest.mark.parametrize(
    ("preference", "shown", "not_shown"), [("", "EST", "GMT"), ("Europe/London", "GMT", "EST")]
)
def test_notification_ledger_uses_as_many_queries_for_300_rows_as_for_3(
    client, staff, preference, shown, not_shown
):
    if preference:  # the agent's own zone, not the rows' sites', and still no query per row
        client.post(reverse("backoffice:preferences"), {"timezone": preference})
    url = reverse("admin:tickets_notification_changelist")
    tickets = TicketFactory.create_batch(3)

    def add(count: int, tag: str) -> None:
        Notification.objects.bulk_create(
            Notification(ticket=tickets[i % 3], event="client_update", sequence=i,
                         recipient=f"{tag}{i}@h.example", status=("sent", "failed")[i % 2])
            for i in range(count)
        )  # fmt: skip

    def queries() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert shown in page and not_shown not in page
        return len(captured)

    add(3, "a")
    small = queries()
    add(297, "b")
    assert queries() == small


def test_the_queue_marks_and_filters_tickets_updated_by_the_client(client, staff, ticket):
    quiet = TicketFactory(site=ticket.site, title="Nothing new here")
    services.comment_post(ticket=ticket, author=ticket.reporter, body="Any news?")
    url = reverse("admin:tickets_ticket_changelist")
    page = client.get(url).content.decode()
    assert page.count('class="client-replied"') == 1
    filtered = client.get(url + "?queue=client_replied").content.decode()
    assert ticket.title in filtered and quiet.title not in filtered
    services.comment_post(ticket=ticket, author=staff, body="Here is the news.")
    assert ticket.title not in client.get(url + "?queue=client_replied").content.decode()


def test_the_notification_ledger_writes_times_in_the_agents_zone_else_the_rows_site(
    client, staff, ticket
):
    with time_machine.travel(NOW, tick=False):
        Notification.objects.create(
            ticket=ticket, event="client_update", sequence=1, recipient="pm@h.example"
        )
        Notification.objects.create(
            ticket=None, event="client_update", sequence=2, recipient="stray@h.example"
        )
    url = reverse("admin:tickets_notification_changelist")
    page = client.get(url).content.decode()
    assert "Wed 25 Nov 2026, 10:00 EST" in page  # the ticket's site, New York
    assert "Wed 25 Nov 2026, 15:00 UTC" in page  # a row with no ticket: UTC, said so

    client.post(reverse("backoffice:preferences"), {"timezone": "Asia/Tokyo"})
    page = client.get(url).content.decode()
    assert page.count("Thu 26 Nov 2026, 00:00 JST") == 2
    assert "EST" not in page and "15:00 UTC" not in page
    row = Notification.objects.get(sequence=1)
    detail = client.get(reverse("admin:tickets_notification_change", args=[row.pk]))
    assert "Thu 26 Nov 2026, 00:00 JST" in detail.content.decode()


def test_the_ticket_page_writes_its_clocks_and_thread_on_the_one_clock_face(client, staff, ticket):
    with time_machine.travel(NOW, tick=False):
        services.comment_post(ticket=ticket, author=ticket.reporter, body="Any news?")
    page = client.get(change_url(ticket)).content.decode()
    assert "Client replied Wed 25 Nov 2026, 10:00 EST" in page  # the site's zone
    assert ">Wed 25 Nov 2026, 10:00 EST</time>" in page
    client.post(reverse("backoffice:preferences"), {"timezone": "Asia/Tokyo"})
    page = client.get(change_url(ticket)).content.decode()
    assert "Client replied Thu 26 Nov 2026, 00:00 JST" in page
