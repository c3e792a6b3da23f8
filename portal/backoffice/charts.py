"""Server-rendered SVG charts: no chart library, nothing loaded from another host."""

from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


@dataclass
class Segment:
    value: int
    css_class: str  # colours come from backoffice.css (bar-met, bar-missed, ...)
    name: str


def stacked_bars_svg(
    *, title: str, bars: list[tuple[str, list[Segment]]], label_width: int = 210
) -> SafeString:
    """A horizontal stacked bar per row, scaled to the largest total, with its counts as text
    and a <title> on each segment for screen readers and hover."""
    bar_height, gap, width, right = 22, 10, 720, 60
    plot = width - label_width - right
    largest = max((sum(s.value for s in segs) for _, segs in bars), default=0) or 1
    height = len(bars) * (bar_height + gap) + gap
    parts: list[str] = [
        format_html(
            '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" '
            'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
            "<title>{}</title>",
            title,
            width,
            height,
            title,
        )
    ]
    for index, (label, segments) in enumerate(bars):
        y = gap + index * (bar_height + gap)
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>',
                label_width - 8,
                y + bar_height * 0.7,
                label,
            )
        )
        x = float(label_width)
        for segment in segments:
            if segment.value <= 0:
                continue
            w = plot * segment.value / largest
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" class="{}">'
                    "<title>{}: {}</title></rect>",
                    f"{x:.1f}",
                    y,
                    f"{w:.1f}",
                    bar_height,
                    segment.css_class,
                    segment.name,
                    segment.value,
                )
            )
            x += w
        total = sum(s.value for s in segments)
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="chart-total">{}</text>',
                f"{x + 6:.1f}",
                y + bar_height * 0.7,
                total,
            )
        )
    parts.append("</svg>")
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every part escaped above


def legend_html(segments: list[Segment]) -> SafeString:
    items = "".join(
        str(format_html('<li><span class="swatch {}"></span>{}</li>', s.css_class, s.name))
        for s in segments
    )
    return mark_safe(f'<ul class="chart-legend">{items}</ul>')  # noqa: S308 - escaped above
