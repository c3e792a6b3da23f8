import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.tickets.factories import ClientSiteFactory, MembershipFactory, StaffFactory
from tickets import services
from tickets.errors import Conflict, DomainError, NotAllowed
from tickets.models import Role, Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def site():
    return ClientSiteFactory(name="St. Mary's", slug="st-marys")


@pytest.fixture
def pm(site):
    return MembershipFactory(site=site, role=Role.PM).user


@pytest.fixture
def viewer(site):
    return MembershipFactory(site=site, role=Role.VIEWER).user


@pytest.fixture
def agent():
    return StaffFactory()


def file_incident(actor, site, **overrides):
    fields = {
        "actor": actor,
        "site": site,
        "kind": "incident",
        "impact": "high",
        "title": "EHR interface down",
        "description": "No ADT messages since 09:00.",
    }
    fields.update(overrides)
    return services.ticket_create(**fields)


def test_filing_gives_a_human_reference_and_records_who_filed(pm, site):
    ticket = file_incident(pm, site)

    assert ticket.reference == f"RX-{ticket.pk + 1000}"
    assert Ticket.objects.get(reference=ticket.reference).status == Status.NEW
    created = ticket.events.get(action=TicketEvent.Action.CREATED)
    assert created.actor == pm
    assert created.changes["impact"] == [None, "high"]


def test_it_member_may_file_but_viewer_may_not(site, viewer):
    it = MembershipFactory(site=site, role=Role.IT).user
    assert file_incident(it, site).reporter == it

    with pytest.raises(NotAllowed):
        file_incident(viewer, site)
    assert not Ticket.objects.filter(reporter=viewer).exists()


def test_member_of_another_site_cannot_file_there(pm):
    other = ClientSiteFactory()
    with pytest.raises(NotAllowed):
        file_incident(pm, other)


def test_incident_needs_impact_and_other_kinds_refuse_one(pm, site):
    with pytest.raises(DomainError) as missing:
        file_incident(pm, site, impact="")
    assert missing.value.field == "impact"
    with pytest.raises(DomainError) as extra:
        file_incident(pm, site, kind="general", impact="low")
    assert extra.value.field == "impact"
    assert file_incident(pm, site, kind="general", impact="").impact == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", ""), ("title", "x" * 201), ("title", "a\x00b"), ("description", "  ")],
)
def test_bad_text_is_refused_with_the_field_named(pm, site, field, value):
    with pytest.raises(DomainError) as error:
        file_incident(pm, site, **{field: value})
    assert error.value.field == field
    assert Ticket.objects.count() == 0


def test_staff_may_file_on_behalf_of_a_site_contact(agent, pm, site):
    ticket = file_incident(agent, site, reporter=pm)
    assert ticket.reporter == pm
    assert ticket.events.get(action="created").actor == agent


def test_site_contact_reply_is_public_and_internal_notes_are_staff_only(pm, agent, site):
    ticket = file_incident(pm, site)
    reply = services.comment_post(ticket=ticket, author=pm, body="Still down.")
    assert reply.public and not reply.by_staff

    with pytest.raises(NotAllowed):
        services.comment_post(ticket=ticket, author=pm, body="secret", public=False)
    note = services.comment_post(ticket=ticket, author=agent, body="Checking logs", public=False)
    assert note.by_staff and not note.public
    actions = list(ticket.events.values_list("action", flat=True))
    assert actions.count("commented") == 1
    assert actions.count("note_added") == 1


def test_viewer_cannot_reply(pm, viewer, site):
    ticket = file_incident(pm, site)
    with pytest.raises(NotAllowed):
        services.comment_post(ticket=ticket, author=viewer, body="me too")


def test_first_public_staff_reply_moves_a_new_ticket_in_progress(pm, agent, site):
    ticket = file_incident(pm, site)
    services.comment_post(ticket=ticket, author=agent, body="Looking now.")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS


def test_client_reply_takes_ticket_off_waiting_on_client(pm, agent, site):
    ticket = file_incident(pm, site)
    services.ticket_status_change(ticket=ticket, actor=agent, status=Status.WAITING_ON_CLIENT)
    services.comment_post(ticket=ticket, author=pm, body="Here are the logs.")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    last = ticket.events.filter(action="status_changed").last()
    assert last.changes == {"status": ["waiting_on_client", "in_progress"]}
    assert last.actor == pm


def test_status_changes_are_kept_with_before_and_after(pm, agent, site):
    ticket = file_incident(pm, site)
    services.ticket_status_change(ticket=ticket, actor=agent, status=Status.RESOLVED)
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None
    services.ticket_status_change(ticket=ticket, actor=pm, status=Status.IN_PROGRESS)
    ticket.refresh_from_db()
    assert ticket.resolved_at is None
    changes = [e.changes["status"] for e in ticket.events.filter(action="status_changed")]
    assert changes == [["new", "resolved"], ["resolved", "in_progress"]]


def test_a_status_move_tells_its_listeners_the_history_row_that_keys_its_email(pm, agent, site):
    from tickets import signals
    from tickets.models import Notification

    heard = []

    def listener(sender, *, ticket, before, after, change, **kwargs):
        heard.append((before, after, change))

    signals.status_changed.connect(listener, dispatch_uid="test_status_change_row")
    try:
        ticket = file_incident(pm, site)
        services.ticket_status_change(ticket=ticket, actor=agent, status=Status.RESOLVED)
    finally:
        signals.status_changed.disconnect(dispatch_uid="test_status_change_row")
    ((before, after, change),) = heard
    assert (before, after) == ("new", "resolved")
    assert change == ticket.events.get(action="status_changed")
    assert change.changes == {"status": ["new", "resolved"]}
    # The site's "resolved" email is filed in the ledger under that move.
    resolved = Notification.objects.filter(ticket=ticket, event="status_resolved")
    assert resolved.exists()
    assert set(resolved.values_list("sequence", flat=True)) == {change.pk}


def test_client_may_resolve_but_not_close_or_park(pm, site):
    ticket = file_incident(pm, site)
    with pytest.raises(NotAllowed):
        services.ticket_status_change(ticket=ticket, actor=pm, status=Status.CLOSED)
    with pytest.raises(NotAllowed):
        services.ticket_status_change(ticket=ticket, actor=pm, status=Status.WAITING_ON_CLIENT)
    with pytest.raises(Conflict):  # a move the client may make, but not from here
        services.ticket_status_change(ticket=ticket, actor=pm, status=Status.IN_PROGRESS)
    services.ticket_status_change(ticket=ticket, actor=pm, status=Status.RESOLVED)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.RESOLVED


def test_closed_ticket_refuses_replies(pm, agent, site):
    ticket = file_incident(pm, site)
    services.ticket_status_change(ticket=ticket, actor=agent, status=Status.CLOSED)
    with pytest.raises(Conflict):
        services.comment_post(ticket=ticket, author=pm, body="hello?")


def test_impact_change_is_staff_only_and_kept_in_history(pm, agent, site):
    ticket = file_incident(pm, site)
    with pytest.raises(NotAllowed):
        services.ticket_impact_change(ticket=ticket, actor=pm, impact="low")
    services.ticket_impact_change(ticket=ticket, actor=agent, impact="medium")
    ticket.refresh_from_db()
    assert ticket.impact == "medium"
    assert ticket.events.get(action="impact_changed").changes == {"impact": ["high", "medium"]}


def test_assign_only_to_staff(pm, agent, site):
    ticket = file_incident(pm, site)
    with pytest.raises(DomainError):
        services.ticket_assign(ticket=ticket, actor=agent, assignee=pm)
    services.ticket_assign(ticket=ticket, actor=agent, assignee=agent)
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ticket.events.get(action="assigned").changes["assignee"][1] == str(agent)


def test_estimate_needs_a_time_zone_and_staff(pm, agent, site):
    ticket = file_incident(pm, site)
    naive = timezone.now().replace(tzinfo=None)
    with pytest.raises(DomainError):
        services.comment_post(
            ticket=ticket, author=agent, body="Fix soon", estimated_resolution_at=naive
        )
    with pytest.raises(NotAllowed):
        services.comment_post(
            ticket=ticket, author=pm, body="Fix soon", estimated_resolution_at=timezone.now()
        )


def test_attachments_are_type_and_size_checked(pm, site, settings):
    ticket = file_incident(pm, site)
    png = SimpleUploadedFile("screen.png", PNG, content_type="image/png")
    attachment = services.attachment_add(ticket=ticket, uploaded_by=pm, file=png)
    assert attachment.content_type == "image/png"
    assert attachment.original_name == "screen.png"
    assert attachment.file.name.startswith(f"attachments/{site.pk}/")

    # An executable renamed to .png is refused by its real content.
    exe = SimpleUploadedFile("innocent.png", b"MZ\x90\x00" + b"\x00" * 64)
    with pytest.raises(DomainError) as error:
        services.attachment_add(ticket=ticket, uploaded_by=pm, file=exe)
    assert error.value.code == "type_not_allowed"

    settings.ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(DomainError) as big:
        services.attachment_add(
            ticket=ticket, uploaded_by=pm, file=SimpleUploadedFile("a.txt", b"x" * 11)
        )
    assert big.value.code == "too_large"
    assert ticket.attachments.count() == 1


def test_text_log_files_are_accepted(pm, site):
    ticket = file_incident(pm, site)
    log = SimpleUploadedFile("hl7.log", "MSH|^~\\&|ADT|é\n".encode())
    assert services.attachment_add(ticket=ticket, uploaded_by=pm, file=log).content_type == (
        "text/plain"
    )


def test_a_failed_attachment_at_filing_files_nothing(pm, site):
    bad = SimpleUploadedFile("x.bin", b"\x7fELF" + b"\x00" * 64)
    with pytest.raises(DomainError):
        file_incident(pm, site, files=[bad])
    assert Ticket.objects.count() == 0


def test_an_unrecognised_file_is_refused_with_what_may_be_attached(pm, site):
    ticket = file_incident(pm, site)
    page = SimpleUploadedFile("notes.html", b"<html><script>alert(1)</script></html>")
    with pytest.raises(DomainError) as error:
        services.attachment_add(ticket=ticket, uploaded_by=pm, file=page)
    assert error.value.message.startswith("notes.html: .HTML files are not accepted.")
    assert "PDF" in error.value.message


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_assigning_outside_any_transaction_locks_its_ticket_and_is_kept(site, pm, agent):
    """A command (seed_demo) or task assigns with no transaction of its own around the call:
    the service opens one, so its row lock works on PostgreSQL and the change is kept."""
    ticket = file_incident(pm, site)

    services.ticket_assign(ticket=ticket, actor=agent, assignee=agent)

    assert Ticket.objects.get(pk=ticket.pk).assignee == agent
    assert TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.ASSIGNED).exists()
