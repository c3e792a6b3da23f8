"""The evidence pack: a PDF people read (checked as a picture) and the JSON whose chains anyone
can recompute; downloadable by the site's project manager and by staff."""

import datetime
import hashlib
import io
import json

import pypdfium2
import pytest
import time_machine
from django.urls import reverse

from evidence.pack import _SECTIONS, PackSection, evidence_pack_get, pack_section_register
from evidence.pdf import no_network_fetcher, pack_pdf
from satisfaction.links import rating_token_make
from satisfaction.services import rating_record
from tickets.models import Ticket
from tickets.services import ticket_status_change

from .conftest import MONDAY
from .helpers import breached_incident

pytestmark = pytest.mark.django_db


def pdf_pages(data: bytes) -> list:
    """Each page of the PDF as a greyscale image."""
    document = pypdfium2.PdfDocument(data)
    return [page.render(scale=1).to_pil().convert("L") for page in document]


def ink(image) -> float:
    """The share of pixels that are not white: 0 for a blank page."""
    histogram = image.histogram()
    return 1 - sum(histogram[245:]) / sum(histogram)


def recompute(entry: dict, prev_hash: str) -> str:
    payload = json.dumps(
        entry["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    text = "\n".join(["v1", prev_hash, str(entry["seq"]), entry["kind"], entry["at"], payload])
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_pdf_has_the_figures_the_breach_and_the_chains_on_readable_pages(site, pm, tmp_path):
    ticket = breached_incident(pm=pm, site=site)
    pack = evidence_pack_get(tickets=Ticket.objects.all(), site=site, year=2026, month=11)
    assert [b.ticket for b in pack.breaches] == [ticket]
    data = pack_pdf(pack)
    assert data.startswith(b"%PDF")
    pages = pdf_pages(data)
    assert 3 <= len(pages) <= 5  # figures, the breach, the chains
    assert all(ink(page) > 0.01 for page in pages), [ink(p) for p in pages]
    pages[0].save(tmp_path / "pack-page-1.png")
    text = "".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(data))
    for expected in ("St. Mary's: November 2026", "SLA figures", "Missed first responses",
                     ticket.reference, "Escalated from level 1 to 2", "hash chains",
                     pack.chains[0].head_hash[:32]):  # fmt: skip
        assert expected in text, expected


def test_the_json_chains_recompute_with_nothing_but_sha256(client, site, pm):
    ticket = breached_incident(pm=pm, site=site)
    client.force_login(pm)
    url = reverse("site-evidence-pack", args=[site.slug])
    response = client.get(url, {"month": "2026-11", "format": "json"})
    assert response.status_code == 200
    assert (
        response["Content-Disposition"] == 'attachment; filename="evidence-st-marys-2026-11.json"'
    )
    body = json.loads(response.content)
    assert body["breaches"] == [ticket.reference]
    (chain,) = body["chains"]
    previous = ""
    for entry in chain["entries"]:
        assert entry["prev_hash"] == previous
        assert recompute(entry, previous) == entry["hash"]
        previous = entry["hash"]
    assert previous == chain["head_hash"]


def test_the_pm_downloads_the_pdf_from_the_report_page_and_staff_from_the_back_office(
    client, site, pm, agent
):
    breached_incident(pm=pm, site=site)
    client.force_login(pm)
    page = client.get(reverse("site-sla-report", args=[site.slug]), {"month": "2026-11"})
    link = reverse("site-evidence-pack", args=[site.slug]) + "?month=2026-11&amp;format=pdf"
    assert link in page.content.decode()
    pdf = client.get(reverse("site-evidence-pack", args=[site.slug]), {"month": "2026-11"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    client.force_login(agent)
    report = client.get(reverse("backoffice:sla-report"), {"site": site.slug, "month": "2026-11"})
    assert 'data-testid="evidence-pack-pdf"' in report.content.decode()
    staff = client.get(
        reverse("backoffice:evidence-pack"),
        {"site": site.slug, "month": "2026-11", "format": "pdf"},
    )
    assert staff.status_code == 200 and staff.content.startswith(b"%PDF")


def test_bad_input_and_other_sites_get_clear_refusals(client, site, pm, it, other_site, agent):
    client.force_login(pm)
    url = reverse("site-evidence-pack", args=[site.slug])
    bad_month = client.get(url, {"month": "2026-13"})
    assert bad_month.status_code == 400 and b"YYYY-MM" in bad_month.content
    assert client.get(url, {"month": "2026-11", "format": "docx"}).status_code == 400
    other = reverse("site-evidence-pack", args=[other_site.slug])
    assert client.get(other, {"month": "2026-11"}).status_code == 404
    client.force_login(it)
    assert client.get(url, {"month": "2026-11"}).status_code == 403
    client.force_login(agent)
    staff = client.get(reverse("backoffice:evidence-pack"), {"site": "nope", "month": "2026-11"})
    assert staff.status_code == 400


def test_the_pdf_fetches_nothing_from_anywhere():
    fetcher = no_network_fetcher()
    with pytest.raises(Exception, match="fetches nothing"):
        fetcher.fetch("http://example.org/logo.png")
    with pytest.raises(Exception, match="fetches nothing"):
        fetcher.fetch("file:///etc/passwd")


def test_other_apps_add_sections_to_the_pack(site, pm):
    breached_incident(pm=pm, site=site)

    def ratings(site, tickets, start, end):
        return PackSection(
            "Client ratings", ["Ticket", "Rating"], [[t.reference, "good"] for t in tickets]
        )

    registered = dict(_SECTIONS)
    _SECTIONS.clear()
    pack_section_register("ratings", ratings)
    try:
        pack = evidence_pack_get(tickets=Ticket.objects.all(), site=site, year=2026, month=11)
        text = "".join(
            p.get_textpage().get_text_range()
            for p in pypdfium2.PdfDocument(io.BytesIO(pack_pdf(pack)))
        )
    finally:
        _SECTIONS.clear()
        _SECTIONS.update(registered)
    assert "Client ratings" in text


def test_the_pack_says_which_policy_version_each_ticket_ran_on_and_what_clients_rated(
    site, pm, agent
):
    ticket = breached_incident(pm=pm, site=site)
    with time_machine.travel(MONDAY + datetime.timedelta(hours=3), tick=False):
        ticket_status_change(ticket=ticket, actor=agent, status="resolved")
        resolution = ticket.events.filter(action="status_changed").latest("id")
        token = rating_token_make(
            ticket_id=ticket.pk, user_id=pm.pk, resolution_id=resolution.pk, choice="good"
        )
        rating_record(token=token, user=pm)
    pack = evidence_pack_get(tickets=Ticket.objects.all(), site=site, year=2026, month=11)
    versions = pack.sections["policy_versions"]
    assert versions.rows[0][0] == ticket.reference
    assert "version 1" in versions.rows[0][2]
    [(reference, rated, choice, comment)] = pack.sections["ratings"].rows
    assert (reference, choice, comment) == (ticket.reference, "Good", "")
    assert "23 Nov 2026" in rated
    text = "".join(p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(pack_pdf(pack)))
    assert "SLA policy versions the tickets ran on" in text
    assert "Client ratings" in text
