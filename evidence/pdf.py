"""The evidence pack as a PDF for people, rendered by WeasyPrint from a template. Nothing is
fetched: styles are inline, charts are inline SVG, fonts are the system's (DejaVu), and the
URL fetcher refuses every address."""

import logging

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from portal.backoffice.report_render import report_charts

from .pack import EvidencePack

logger = logging.getLogger(__name__)


def no_network_fetcher():
    """A WeasyPrint fetcher that serves only inline `data:` URLs and refuses every other
    address (another host, a local file): the pack is self-contained."""
    from weasyprint.urls import URLFetcher, URLFetchingError

    class NoNetworkFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("data:"):
                logger.warning("Evidence pack: refused to fetch %s", url[:200])
                raise URLFetchingError(f"The evidence pack fetches nothing ({url[:80]}).")
            return super().fetch(url, headers)

    return NoNetworkFetcher(allowed_protocols={"data"})


# The report charts take their colours from the back office's stylesheet; an inline SVG in
# WeasyPrint does not, so the pack gives each bar its fill.
BAR_FILLS = {
    "bar-met": "#2f6f3e",
    "bar-missed": "#b42318",
    "bar-pending": "#98a2b3",
    "bar-human": "#3c5a99",
    "bar-auto": "#9a5b00",
}


def _filled(svg: str) -> str:
    for css_class, colour in BAR_FILLS.items():
        svg = svg.replace(f'class="{css_class}"', f'class="{css_class}" fill="{colour}"')
    return svg


def pack_html(pack: EvidencePack) -> str:
    charts = report_charts(pack.report)
    for name in ("response_chart", "update_chart"):
        charts[name] = mark_safe(_filled(str(charts[name])))  # noqa: S308 (our own SVG)
    return render_to_string("evidence/pack.html", {"pack": pack, **charts})


def pack_pdf(pack: EvidencePack) -> bytes:
    from weasyprint import HTML  # imported here: loading Pango is only worth it for a pack

    return HTML(string=pack_html(pack), url_fetcher=no_network_fetcher(), base_url=None).write_pdf()
