from datetime import UTC, datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from tickets import services
from tickets.models import Attachment, Comment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def frozen():
    """A fixed clock for tests that send dates which must lie in the future; request it before
    the fixtures that file tickets."""
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), tick=False):
        yield


def comments_url(ticket) -> str:
    return f"/api/v1/tickets/{ticket.reference}/comments/"


def attachments_url(ticket) -> str:
    return f"/api/v1/tickets/{ticket.reference}/attachments/"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("pm", 200),
        ("it", 200),
        ("viewer", 200),
        ("staff", 200),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_reading_comments_by_role_hides_internal_notes_from_the_site(
    clients, people, ticket, role, expected
):
    services.comment_post(ticket=ticket, author=people["staff"], body="Looking now.")
    services.comment_post(
        ticket=ticket, author=people["staff"], body="Vendor bug 123", public=False
    )
    response = clients[role].get(comments_url(ticket))
    assert response.status_code == expected
    if expected == 200:
        bodies = [c["body"] for c in response.json()["results"]]
        if role == "staff":
            assert bodies == ["Looking now.", "Vendor bug 123"]
        else:
            assert bodies == ["Looking now."]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("pm", 201),
        ("it", 201),
        ("viewer", 403),
        ("staff", 201),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_posting_a_comment_by_role(clients, ticket, role, expected):
    response = clients[role].post(comments_url(ticket), {"body": "Any news?"}, format="json")
    assert response.status_code == expected, response.content
    assert Comment.objects.filter(body="Any news?").count() == (1 if expected == 201 else 0)
    if expected == 201:
        assert response.json()["public"] is True


def test_staff_write_internal_notes_and_estimates(frozen, clients, ticket):
    note = clients["staff"].post(
        comments_url(ticket), {"body": "internal", "public": False}, format="json"
    )
    assert note.status_code == 201
    assert note.json()["public"] is False
    reply = clients["staff"].post(
        comments_url(ticket),
        {"body": "Fix tonight", "estimated_resolution_at": "2026-12-01T18:00:00-05:00"},
        format="json",
    )
    assert reply.status_code == 201
    assert reply.json()["estimated_resolution_at"] == "2026-12-01T23:00:00Z"


@pytest.mark.parametrize(
    "payload",
    [{"body": "x", "public": False}, {"body": "x", "estimated_resolution_at": "2026-12-01T18:00Z"}],
)
def test_site_contacts_cannot_use_staff_only_fields(clients, ticket, payload):
    response = clients["pm"].post(comments_url(ticket), payload, format="json")
    assert response.status_code == 403
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"body": ""},
        {"body": "a\x00b"},
        {"body": "x" * 50_001},
        {"body": 5},
        {"body": "x", "public": "maybe"},
        {"body": "x", "public": [True]},
        {"body": "x", "estimated_resolution_at": "tomorrow"},
        {"body": "x", "estimated_resolution_at": "9999-12-31T23:59:59-12:00"},
    ],
)
def test_bad_comments_are_a_400(clients, ticket, payload):
    response = clients["staff"].post(comments_url(ticket), payload, format="json")
    assert response.status_code == 400, response.content
    assert not Comment.objects.exists()


def test_commenting_on_a_closed_ticket_is_a_409(clients, people, ticket):
    services.ticket_status_change(ticket=ticket, actor=people["staff"], status="closed")
    response = clients["pm"].post(comments_url(ticket), {"body": "hello"}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("pm", 201),
        ("it", 201),
        ("viewer", 403),
        ("staff", 201),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_attaching_a_file_by_role(clients, ticket, role, expected):
    upload = SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf")
    response = clients[role].post(attachments_url(ticket), {"file": upload}, format="multipart")
    assert response.status_code == expected, response.content
    assert Attachment.objects.count() == (1 if expected == 201 else 0)
    if expected == 201:
        body = response.json()
        assert body["name"] == "report.pdf"
        assert body["content_type"] == "application/pdf"
        assert body["size"] == len(PDF)


@pytest.mark.parametrize(
    ("name", "content", "field"),
    [
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 100, "file"),
        ("empty.txt", b"", "file"),
        ("report.pdf", PDF, "document"),
    ],
)
def test_bad_uploads_are_a_400(clients, ticket, name, content, field):
    upload = SimpleUploadedFile(name, content)
    response = clients["pm"].post(attachments_url(ticket), {field: upload}, format="multipart")
    assert response.status_code == 400, response.content
    assert "file" in response.json()["fields"]
    assert not Attachment.objects.exists()


def test_an_upload_over_the_limit_is_refused(clients, ticket, settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    upload = SimpleUploadedFile("big.txt", b"a" * 101)
    response = clients["pm"].post(attachments_url(ticket), {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "too_large"


def test_attachments_need_multipart(clients, ticket):
    response = clients["pm"].post(attachments_url(ticket), {"file": "x"}, format="json")
    assert response.status_code == 415
