"""The evidence pack download for staff (any site), and the response both faces send: the PDF
for people or the JSON with the hash chains. Thin: parse input, call the pack selector."""

import json
from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from evidence.pack import evidence_pack_get, pack_json
from evidence.pdf import pack_pdf
from tickets.models import ClientSite
from tickets.selectors import tickets_visible_to

from .forms import ReportForm

PACK_FORMATS = ("pdf", "json")


def pack_links(url: str, *, month: tuple[int, int], site: str | None = None) -> dict[str, str]:
    """The report page's two download links (the template shows them when present)."""
    query = {"month": f"{month[0]:04d}-{month[1]:02d}"}
    if site:
        query["site"] = site
    return {
        "pack_pdf_url": f"{url}?{urlencode({**query, 'format': 'pdf'})}",
        "pack_json_url": f"{url}?{urlencode({**query, 'format': 'json'})}",
    }


def pack_format(request: HttpRequest) -> str | None:
    value = request.GET.get("format", "pdf")
    return value if value in PACK_FORMATS else None


def pack_response(*, request: HttpRequest, site: ClientSite, year: int, month: int, fmt: str):
    """The pack of `site` for the month, from the tickets the caller sees, as a download."""
    pack = evidence_pack_get(
        tickets=tickets_visible_to(request.user), site=site, year=year, month=month
    )
    name = f"evidence-{site.slug}-{pack.month_label}.{fmt}"
    if fmt == "json":
        body = json.dumps(pack_json(pack), indent=2, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(pack_pdf(pack), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@staff_member_required
def evidence_pack(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET)
    fmt = pack_format(request)
    if not form.is_valid() or fmt is None:
        errors = [str(e) for field in form.errors.values() for e in field]
        if fmt is None:
            errors.append("format: give pdf or json.")
        return HttpResponseBadRequest(
            "Cannot build the evidence pack: " + " ".join(errors), content_type="text/plain"
        )
    year, month = form.cleaned_data["month"]
    return pack_response(
        request=request, site=form.cleaned_data["site"], year=year, month=month, fmt=fmt
    )
