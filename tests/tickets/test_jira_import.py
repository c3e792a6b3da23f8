"""`import_jira`: the fixtures are small, realistic JIRA exports (REST search pages with ADF and
wiki text, JSM internal comments, a changelog; a CSV export with repeated columns)."""

import json
import shutil
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command

from sla.scan import sla_scan_run
from tickets import signals
from tickets.models import (
    Attachment,
    Comment,
    Notification,
    Role,
    SLAState,
    Status,
    Ticket,
    TicketEvent,
)

from .factories import ClientSiteFactory, MembershipFactory, StaffFactory, UserFactory

EXPORTS = Path(__file__).parent / "jira_exports"
NOW = datetime(2025, 11, 25, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    mercy = ClientSiteFactory(slug="mercy-general", name="Mercy General")
    lukes = ClientSiteFactory(slug="st-lukes", name="St. Luke's")
    jane = UserFactory(username="jane", email="jane.smith@mercy.example")
    MembershipFactory(user=jane, site=mercy, role=Role.PM)
    priya = UserFactory(username="priya", email="priya.nair@stlukes.example")
    MembershipFactory(user=priya, site=lukes, role=Role.PM)
    omar = StaffFactory(username="omar", email="omar.reyes@rxhealth.example")
    importer = StaffFactory(username="importer", email="importer@rxhealth.example")
    return {
        "mercy": mercy,
        "lukes": lukes,
        "jane": jane,
        "priya": priya,
        "omar": omar,
        "importer": importer,
    }


def run(path, *args, mapping=EXPORTS / "mapping.toml"):
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("import_jira", str(path), "--mapping", str(mapping), *args, stdout=out)
    return out.getvalue()


def test_rest_export_brings_tickets_comments_attachments_and_history(people):
    out = run(EXPORTS / "rest")

    assert "Tickets created: 3, updated: 0, unchanged: 0." in out
    assert "Refused attachment RXH-101: zebra-driver.exe" in out
    assert "No email and no webhook was sent" in out
    outage = Ticket.objects.get(jira_key="RXH-101")
    assert outage.reference.startswith("RX-")
    assert (outage.site, outage.kind, outage.impact, outage.status) == (
        people["mercy"],
        "incident",
        "high",
        Status.IN_PROGRESS,
    )
    assert outage.created_at == datetime(2025, 11, 3, 9, 15, 22, tzinfo=UTC)
    assert (outage.reporter, outage.assignee) == (people["jane"], people["omar"])
    assert "no *wristband* prints" in outage.description
    thread = list(outage.comments.order_by("created_at"))
    assert [(c.author, c.public, c.by_staff) for c in thread] == [
        (people["omar"], True, True),
        (people["omar"], False, True),
        (people["jane"], True, False),
    ]
    assert thread[0].created_at == datetime(2025, 11, 3, 11, 0, tzinfo=UTC)
    assert sorted(outage.attachments.values_list("original_name", "content_type")) == [
        ("printer.log", "text/plain"),
        ("wristband-error.png", "image/png"),
    ]
    assert outage.attachments.get(original_name="printer.log").file.read().startswith(b"2025")
    history = list(
        outage.events.filter(action=TicketEvent.Action.JIRA_HISTORY).values_list(
            "changes", "created_at"
        )
    )
    assert history == [
        ({"assignee": [None, "Omar Reyes"]}, datetime(2025, 11, 3, 10, 59, tzinfo=UTC)),
        ({"status": ["Open", "In Progress"]}, datetime(2025, 11, 3, 10, 59, 30, tzinfo=UTC)),
    ]

    change = Ticket.objects.get(jira_key="RXH-102")
    # ADF (REST v3) comes in as text; an unknown reporter files under the site's first pm.
    assert change.description.startswith("Please add the oncology order set")
    assert change.reporter == people["jane"] and change.assignee is None
    imported = change.events.get(action=TicketEvent.Action.IMPORTED)
    assert "Reported in JIRA by Sam Locum <sam.locum@agency.example>" in imported.message
    assert change.status == Status.RESOLVED
    assert change.resolved_at == datetime(2025, 10, 6, 16, 30, tzinfo=UTC)
    note = change.comments.get(public=False)
    assert note.author == people["importer"] and "Written in JIRA by Former Agent" in note.body

    question = Ticket.objects.get(jira_key="RXH-103")
    assert (question.site, question.reporter, question.status) == (
        people["lukes"],
        people["priya"],
        Status.WAITING_ON_CLIENT,
    )
    assert Notification.objects.count() == 0 and mail.outbox == []


def test_a_second_run_changes_nothing(people):
    run(EXPORTS / "rest")
    counts = [m.objects.count() for m in (Ticket, Comment, Attachment, TicketEvent)]

    out = run(EXPORTS / "rest")

    assert "Tickets created: 0, updated: 0, unchanged: 3." in out
    assert [m.objects.count() for m in (Ticket, Comment, Attachment, TicketEvent)] == counts


def test_a_changed_issue_is_updated_and_gains_only_what_it_lacked(people, tmp_path):
    export = tmp_path / "rest"
    shutil.copytree(EXPORTS / "rest", export)
    run(export)
    page = json.loads((export / "page-001.json").read_text())
    fields = page["issues"][0]["fields"]
    fields["summary"] = "Wristband printers down on 4 North and 5 South"
    fields["comment"]["comments"].append(
        {
            "id": "20004",
            "author": fields["assignee"],
            "body": "Fixed: spooler patched.",
            "created": "2025-11-03T12:00:00.000+0000",
            "jsdPublic": True,
        }
    )
    (export / "page-001.json").write_text(json.dumps(page))

    out = run(export)

    assert "Tickets created: 0, updated: 1, unchanged: 2." in out
    outage = Ticket.objects.get(jira_key="RXH-101")
    assert outage.title.endswith("5 South")
    update = outage.events.get(action=TicketEvent.Action.IMPORTED, message__startswith="Updated")
    assert update.changes == {
        "title": [
            "Wristband printers down on 4 North",
            "Wristband printers down on 4 North and 5 South",
        ]
    }
    assert outage.comments.count() == 4
    assert outage.attachments.count() == 2
    assert outage.events.filter(action=TicketEvent.Action.JIRA_HISTORY).count() == 2


def test_csv_export_with_repeated_columns(people):
    out = run(EXPORTS / "csv" / "export.csv")

    assert "Tickets created: 2" in out
    lab = Ticket.objects.get(jira_key="RXH-201")
    # 7:05 AM in New York (the mapping's [csv] timezone) on 24 November is 12:05 UTC.
    assert lab.created_at == datetime(2025, 11, 24, 12, 5, tzinfo=UTC)
    assert (lab.kind, lab.impact, lab.reporter, lab.assignee) == (
        "incident",
        "high",
        people["jane"],
        people["omar"],
    )
    # The CSV does not say which comments were public: they come in as internal notes.
    assert list(lab.comments.values_list("public", flat=True)) == [False, False]
    assert lab.attachments.get().original_name == "census.csv"
    review = Ticket.objects.get(jira_key="RXH-202")
    assert review.status == Status.CLOSED
    assert review.closed_at == datetime(2025, 9, 5, 19, 0, tzinfo=UTC)
    assert "unchanged: 2" in run(EXPORTS / "csv" / "export.csv")


def test_open_tickets_clocks_count_from_filing_and_escalation_from_the_import(people):
    run(EXPORTS / "csv" / "export.csv")
    lab = Ticket.objects.get(jira_key="RXH-201")
    # High incident filed 12:05 UTC on 24 Nov: one hour to respond, missed at 13:05.
    assert lab.response_breached_at == datetime(2025, 11, 24, 13, 5, tzinfo=UTC)
    assert lab.sla_state == SLAState.BREACHED
    assert lab.escalation_level == 1
    assert lab.escalation_next_at == NOW + timedelta(hours=1)

    with time_machine.travel(NOW + timedelta(minutes=30), tick=False):
        sla_scan_run()
    assert not Notification.objects.filter(ticket=lab, event="escalated").exists()
    lab.refresh_from_db()
    assert lab.escalation_level == 1

    with time_machine.travel(NOW + timedelta(hours=1, minutes=1), tick=False):
        sla_scan_run()
    lab.refresh_from_db()
    assert lab.escalation_level == 2


def test_a_response_in_time_is_met_and_a_late_one_recorded_as_breached(people):
    run(EXPORTS / "rest")
    outage = Ticket.objects.get(jira_key="RXH-101")
    # Filed 09:15:22, first public staff reply 11:00: the 1-hour target was missed at 10:15:22.
    assert outage.responded_at == datetime(2025, 11, 3, 11, 0, tzinfo=UTC)
    assert outage.response_breached_at == datetime(2025, 11, 3, 10, 15, 22, tzinfo=UTC)
    assert outage.escalation_next_at is None
    # RXH-102's public reply is by someone with no account here: it is kept under the reporter
    # and does not count as Rx.Health's response; the change was resolved after its 8 hours.
    change = Ticket.objects.get(jira_key="RXH-102")
    reply = change.comments.get(public=True)
    assert (reply.author, reply.by_staff) == (change.reporter, False)
    assert reply.body.startswith("(Written in JIRA by Former Agent.)")
    assert change.responded_at is None
    assert change.response_breached_at == datetime(2025, 10, 1, 22, 0, tzinfo=UTC)
    assert change.escalation_next_at is None and change.paused_at == change.resolved_at


def test_a_response_within_the_target_is_met(people, tmp_path):
    export = tmp_path / "rest"
    shutil.copytree(EXPORTS / "rest", export)
    page = json.loads((export / "page-001.json").read_text())
    page["issues"][1]["fields"]["comment"]["comments"][0]["author"]["emailAddress"] = (
        "omar.reyes@rxhealth.example"
    )
    (export / "page-001.json").write_text(json.dumps(page))

    run(export)

    change = Ticket.objects.get(jira_key="RXH-102")
    assert change.responded_at == datetime(2025, 10, 1, 18, 0, tzinfo=UTC)
    assert change.response_breached_at is None and change.sla_state == SLAState.MET


def test_unmapped_values_stop_the_import_before_anything_is_written(people, tmp_path):
    mapping = tmp_path / "mapping.toml"
    text = (EXPORTS / "mapping.toml").read_text()
    mapping.write_text(
        text.replace('"Change" = "change"\n', "").replace('"Done" = "resolved"\n', "")
    )

    out = StringIO()
    with pytest.raises(CommandError, match=r"2 unmapped values\. Nothing was imported\."):
        call_command("import_jira", str(EXPORTS / "rest"), "--mapping", str(mapping), stdout=out)

    assert "[kinds] 'Change' (first seen in RXH-102)" in out.getvalue()
    assert "[statuses] 'Done' (first seen in RXH-102)" in out.getvalue()
    assert Ticket.objects.count() == 0


def test_dry_run_reports_the_counts_and_writes_nothing(people):
    out = run(EXPORTS / "rest", "--dry-run")

    assert "Tickets would be created: 3" in out
    assert "Refused attachment RXH-101: zebra-driver.exe" in out
    assert Ticket.objects.count() == 0 and TicketEvent.objects.count() == 0


def test_a_truncated_export_names_where_it_stops_and_writes_nothing(people, tmp_path):
    export = tmp_path / "rest"
    shutil.copytree(EXPORTS / "rest", export)
    page = (export / "page-002.json").read_text()
    (export / "page-002.json").write_text(page[: len(page) // 2])

    with pytest.raises(CommandError, match=r"page-002.json is truncated .* RXH-102"):
        run(export)
    assert Ticket.objects.count() == 0


def test_an_unknown_format_is_refused(people, tmp_path):
    export = tmp_path / "export.xml"
    export.write_text("<rss><channel><item><key>RXH-1</key></item></channel></rss>")

    with pytest.raises(CommandError, match="neither a JIRA REST search page"):
        run(export)


def test_an_issue_without_site_or_attachment_is_left_out_whole_and_named(people, tmp_path):
    export = tmp_path / "rest"
    shutil.copytree(EXPORTS / "rest", export)
    (export / "attachments" / "10201" / "printer.log").unlink()
    page = json.loads((export / "page-002.json").read_text())
    page["issues"][0]["fields"]["components"] = []
    (export / "page-002.json").write_text(json.dumps(page))

    out = StringIO()
    with pytest.raises(CommandError, match="2 issue"), time_machine.travel(NOW, tick=False):
        call_command(
            "import_jira", str(export), "--mapping", str(EXPORTS / "mapping.toml"), stdout=out
        )

    assert "Not imported RXH-101: attachment 'printer.log' (id 10201) is not in" in out.getvalue()
    assert "Not imported RXH-103: no site: its component is empty" in out.getvalue()
    assert set(Ticket.objects.values_list("jira_key", flat=True)) == {"RXH-102"}
    assert not Comment.objects.filter(ticket__jira_key="RXH-101").exists()


def test_an_interrupted_import_resumes_where_it_stopped(people):
    calls = []

    def interrupt(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    signals.tickets_importing.connect(interrupt, dispatch_uid="test_interrupt")
    try:
        with pytest.raises(CommandError, match="Stopped after 1 of 3 issues"):
            run(EXPORTS / "rest", "--batch-size", "1")
    finally:
        signals.tickets_importing.disconnect(dispatch_uid="test_interrupt")
    assert list(Ticket.objects.values_list("jira_key", flat=True)) == ["RXH-101"]

    out = run(EXPORTS / "rest", "--batch-size", "1")

    assert "Tickets created: 2, updated: 0, unchanged: 1." in out
    assert Ticket.objects.count() == 3


def test_a_cut_csv_export_is_refused_naming_the_last_issue_read(people, tmp_path):
    export = tmp_path / "export.csv"
    text = (EXPORTS / "csv" / "export.csv").read_text()
    export.write_text(text[: text.index("Quarterly access review") + 40])

    with pytest.raises(CommandError, match=r"export\.csv line 4 has 3 cells .* RXH-201"):
        run(export)
    assert Ticket.objects.count() == 0


def test_a_mapping_naming_a_site_that_does_not_exist_is_refused(people, tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        (EXPORTS / "mapping.toml").read_text().replace('"st-lukes"', '"st-lukes-east"')
    )

    with pytest.raises(CommandError, match="no site has the slug st-lukes-east"):
        run(EXPORTS / "rest", mapping=mapping)
