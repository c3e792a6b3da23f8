"""An attachment's `url` in API JSON downloads the file with the same bearer token, with the
portal download's checks and headers; 404 for anyone who may not see the ticket."""

from django.core.files.uploadedfile import SimpleUploadedFile

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
