"""Charts drawn on the server as inline SVG: no script, no network, readable when printed. Every
chart is shown with its numbers in a table beside it (the templates do that)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#0a5ec0", "#1b7f3b", "#c8102e", "#f5a623", "#6f42c1", "#59636e")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bars(rows: Sequence[tuple[str, float]], *, width: int = 460, color: str = PALETTE[0], unit: str = "") -> SafeString:
    """Horizontal bars, one per row, the value written at the end of each bar."""
    bar_h, gap, label_w = 22, 8, 120
    height = max(1, len(rows)) * (bar_h + gap) + gap
    top = max([value for _label, value in rows] + [1])
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="12">'
    ]
    for index, (label, value) in enumerate(rows):
        y = gap + index * (bar_h + gap)
        length = (width - label_w - 90) * (value / top if top else 0)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{max(length, 1):.1f}" height="{bar_h}" fill="{color}" rx="3"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 15}">{_number(value)}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


def columns(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, width: int = 720, height: int = 220
) -> SafeString:
    """Grouped columns per label (days), a legend, and the top value on the axis."""
    left, bottom, top_pad = 48, 28, 24
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max([v for _name, values in series for v in values] + [1])
    group_w = plot_w / max(1, len(labels))
    bar_w = max(1.0, min(18.0, (group_w - 2) / max(1, len(series))))
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="11">',
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 8}" y2="{top_pad + plot_h}" stroke="#d0d7de"/>',
        f'<text x="{left - 4}" y="{top_pad + 4}" text-anchor="end">{_number(top)}</text>',
        f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end">0</text>',
    ]
    for s_index, (name, _values) in enumerate(series):
        x = left + s_index * 110
        color = PALETTE[s_index % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14}" y="13">{escape(name)}</text>')
    step = max(1, len(labels) // 10)
    for index, label in enumerate(labels):
        x0 = left + index * group_w
        for s_index, (_name, values) in enumerate(series):
            value = values[index] if index < len(values) else 0
            h = plot_h * (value / top)
            color = PALETTE[s_index % len(PALETTE)]
            parts.append(
                f'<rect x="{x0 + 1 + s_index * bar_w:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{max(h, 0):.1f}" fill="{color}"><title>{escape(label)} {escape(_name)}: '
                f"{_number(value)}</title></rect>"
            )
        if index % step == 0:
            parts.append(f'<text x="{x0 + 1:.1f}" y="{height - 10}">{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above
