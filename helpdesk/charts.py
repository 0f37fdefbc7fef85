"""Small SVG charts drawn on the server: readable without JavaScript, with a title and
description for screen readers, labelled axes with units, and a legend.

Every label is escaped here, so templates may insert the result with ``|safe``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

COLOURS = ("#2f6fde", "#e07b24", "#2e7d32", "#8e44ad", "#c62828")
_TEXT = 'font-size="11" fill="#5b6474"'


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]


def _nice_top(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _number(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value:,.0f}"


def _frame(
    title: str,
    description: str,
    x_title: str,
    y_title: str,
    top: float,
    width: int,
    height: int,
    pad: tuple[int, int, int, int],
) -> list[str]:
    left, right, top_pad, bottom = pad
    plot_h = height - top_pad - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
    ]
    for i in range(5):
        value = top * i / 4
        y = top_pad + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{"#c9ced8" if i == 0 else "#eceff3"}"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" {_TEXT} text-anchor="end">'
            f"{escape(_number(value))}</text>"
        )
    parts.append(
        f'<text x="12" y="{top_pad + plot_h / 2:.1f}" {_TEXT} text-anchor="middle" '
        f'transform="rotate(-90 12 {top_pad + plot_h / 2:.1f})">{escape(y_title)}</text>'
    )
    parts.append(
        f'<text x="{left + (width - left - right) / 2:.1f}" y="{height - 4}" {_TEXT} '
        f'text-anchor="middle">{escape(x_title)}</text>'
    )
    return parts


def _x_labels(
    labels: Sequence[str], centres: list[float], baseline: float, max_labels: int = 12
) -> list[str]:
    step = max(1, -(-len(labels) // max_labels))
    return [
        f'<text x="{centres[i]:.1f}" y="{baseline + 16:.1f}" {_TEXT} text-anchor="middle">'
        f"{escape(labels[i])}</text>"
        for i in range(0, len(labels), step)
    ]


def _legend(series: Sequence[Series], width: int, right: int, unit: str) -> list[str]:
    parts = []
    for n, one in enumerate(series):
        total = sum(one.values)
        suffix = f" ({_number(total)})" if not unit else ""
        parts.append(
            f'<text x="{width - right}" y="{14 + 14 * n}" font-size="12" '
            f'fill="{COLOURS[n % len(COLOURS)]}" text-anchor="end">'
            f"{escape(one.label)}{escape(suffix)}</text>"
        )
    return parts


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    x_title: str,
    y_title: str,
    unit: str = "",
    description: str = "",
    width: int = 720,
    height: int = 240,
) -> str:
    """One line per series over the labelled x positions."""
    pad = (56, 16, 16 + 14 * len(series), 40)
    left, right, top_pad, bottom = pad
    top = _nice_top(max([v for s in series for v in s.values] + [0]))
    count = len(labels)
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    step = plot_w / max(count - 1, 1)
    xs = [left + i * step for i in range(count)]
    parts = _frame(title, description or title, x_title, y_title, top, width, height, pad)
    for n, one in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(
            f"{xs[i]:.1f},{top_pad + plot_h - (v / top) * plot_h:.1f}"
            for i, v in enumerate(one.values)
        )
        if count > 1:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
            )
        for i, v in enumerate(one.values):
            y = top_pad + plot_h - (v / top) * plot_h
            parts.append(
                f'<circle cx="{xs[i]:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(labels[i])}: {escape(_number(v))}{escape(unit)}</title></circle>"
            )
    parts += _x_labels(labels, xs, top_pad + plot_h)
    parts += _legend(series, width, right, unit)
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    x_title: str,
    y_title: str,
    unit: str = "",
    description: str = "",
    width: int = 720,
    height: int = 240,
) -> str:
    """Grouped bars: one group per label, one bar per series."""
    pad = (56, 16, 16 + 14 * len(series), 40)
    left, right, top_pad, bottom = pad
    top = _nice_top(max([v for s in series for v in s.values] + [0]))
    count = max(len(labels), 1)
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    group = plot_w / count
    bar = max(group * 0.8 / max(len(series), 1), 0.5)
    parts = _frame(title, description or title, x_title, y_title, top, width, height, pad)
    for n, one in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        for i, v in enumerate(one.values):
            h = (v / top) * plot_h
            x = left + i * group + group * 0.1 + n * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(labels[i])}, '
                f"{escape(one.label)}: {escape(_number(v))}{escape(unit)}</title></rect>"
            )
    centres = [left + i * group + group / 2 for i in range(len(labels))]
    parts += _x_labels(labels, centres, top_pad + plot_h)
    parts += _legend(series, width, right, unit)
    parts.append("</svg>")
    return "".join(parts)
