"""An attachment's `url` in API JSON downloads the file with the same bearer token, with the
portal download's checks and headers; 404 for anyone who may not see the ticket."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse

from tests.portal.api.conftest import client_for
from tests.portal.helpers import PNG, png
from tickets import services


def upload(client, ticket) -> dict:
    response = client.post(
        f"/api/v1/tickets/{ticket.reference}/attachments/",
        {"file": SimpleUploadedFile("screen.png", PNG, content_type="image/png")},
        format="multipart",
    )
    assert response.status_code == 201
    return response.json()


def test_the_uploaded_files_url_downloads_it_with_the_same_token(people, ticket):
    client = client_for(people["pm"])
    body = upload(client, ticket)
    assert body["url"].startswith("http://testserver/api/v1/tickets/")
    response = client.get(body["url"])
    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith('attachment; filename="screen.png"')
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_a_comments_attachments_carry_a_url_that_downloads_them(people, ticket):
    services.comment_post(
        ticket=ticket, author=people["pm"], body="Here is the screen.", files=[png("error.png")]
    )
    client = client_for(people["it"])
    listed = client.get(f"/api/v1/tickets/{ticket.reference}/comments/").json()
    [attachment] = [a for c in listed["results"] for a in c["attachments"]]
    assert attachment["name"] == "error.png"
    response = client.get(attachment["url"])
    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    assert b"".join(response.streaming_content) == PNG


def test_anyone_who_may_not_see_the_ticket_gets_404_and_no_token_gets_401(people, ticket):
    url = upload(client_for(people["pm"]), ticket)["url"]
    outsider = client_for(people["outsider"]).get(url)
    assert outsider.status_code == 404
    assert outsider.json()["code"] == "not_found"
    assert client_for(None).get(url).status_code == 401
    assert client_for(people["staff"]).get(url).status_code == 200
    missing = url.rsplit("/", 2)[0] + "/999999/"
    assert client_for(people["pm"]).get(missing).status_code == 404


def test_a_tickets_json_lists_its_files_with_a_url_that_downloads_them(people, ticket):
    services.attachment_add(ticket=ticket, uploaded_by=people["it"], file=png("cabinet.png"))
    client = client_for(people["pm"])
    body = client.get(f"/api/v1/tickets/{ticket.reference}/").json()
    [attachment] = body["attachments"]
    assert attachment["name"] == "cabinet.png"
    assert attachment["uploaded_by"] == people["it"].username
    response = client.get(attachment["url"])
    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    assert b"".join(response.streaming_content) == PNG
    [listed] = client.get("/api/v1/tickets/").json()["results"]
    assert listed["attachments"] == [attachment]
    assert client_for(people["outsider"]).get(attachment["url"]).status_code == 404


def test_files_on_internal_notes_are_in_the_tickets_json_for_staff_only(people, ticket):
    services.comment_post(
        ticket=ticket, author=people["staff"], body="Public.", files=[png("a.png")]
    )
    services.comment_post(
        ticket=ticket,
        author=people["staff"],
        body="Vendor log.",
        public=False,
        files=[png("b.png")],
    )
    detail = f"/api/v1/tickets/{ticket.reference}/"

    def names(user, path=detail):
        body = client_for(user).get(path).json()
        ticket_json = body["results"][0] if "results" in body else body
        return [a["name"] for a in ticket_json["attachments"]]

    assert names(people["staff"]) == ["a.png", "b.png"]
    for role in ("pm", "it", "viewer"):
        assert names(people[role]) == ["a.png"]
        assert names(people[role], "/api/v1/tickets/") == ["a.png"]
