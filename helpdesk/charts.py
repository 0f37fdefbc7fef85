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


@dataclass(frozen=True)
class _Area:
    """The drawing: its size, the margins around the plot, the value at the plot's top."""

    width: int
    height: int
    left: int
    right: int
    top_pad: int
    bottom: int
    top: float

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top_pad - self.bottom

    @property
    def baseline(self) -> float:
        return self.top_pad + self.plot_h

    def y(self, value: float) -> float:
        return self.baseline - (value / self.top) * self.plot_h


def _area(series: Sequence[Series], width: int, height: int) -> _Area:
    # Room above the plot for one legend line per series.
    highest = max([v for s in series for v in s.values] + [0])
    return _Area(width, height, 56, 16, 16 + 14 * len(series), 40, _nice_top(highest))


def _frame(area: _Area, title: str, description: str, x_title: str, y_title: str) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {area.width} {area.height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description or title)}</desc>",
    ]
    for i in range(5):
        value = area.top * i / 4
        y = area.y(value)
        parts.append(
            f'<line x1="{area.left}" y1="{y:.1f}" x2="{area.width - area.right}" y2="{y:.1f}" '
            f'stroke="{"#c9ced8" if i == 0 else "#eceff3"}"/>'
        )
        parts.append(
            f'<text x="{area.left - 6}" y="{y + 4:.1f}" {_TEXT} text-anchor="end">'
            f"{escape(_number(value))}</text>"
        )
    middle = area.top_pad + area.plot_h / 2
    parts.append(
        f'<text x="12" y="{middle:.1f}" {_TEXT} text-anchor="middle" '
        f'transform="rotate(-90 12 {middle:.1f})">{escape(y_title)}</text>'
    )
    parts.append(
        f'<text x="{area.left + area.plot_w / 2:.1f}" y="{area.height - 4}" {_TEXT} '
        f'text-anchor="middle">{escape(x_title)}</text>'
    )
    return parts


def _close(
    parts: list[str],
    area: _Area,
    labels: Sequence[str],
    centres: list[float],
    series: Sequence[Series],
    unit: str,
) -> str:
    parts += _x_labels(labels, centres, area.baseline)
    parts += _legend(series, area.width, area.right, unit)
    parts.append("</svg>")
    return "".join(parts)


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
    area = _area(series, width, height)
    count = len(labels)
    step = area.plot_w / max(count - 1, 1)
    xs = [area.left + i * step for i in range(count)]
    parts = _frame(area, title, description, x_title, y_title)
    for n, one in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        if count > 1:
            points = " ".join(f"{xs[i]:.1f},{area.y(v):.1f}" for i, v in enumerate(one.values))
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
            )
        for i, v in enumerate(one.values):
            parts.append(
                f'<circle cx="{xs[i]:.1f}" cy="{area.y(v):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(labels[i])}: {escape(_number(v))}{escape(unit)}</title></circle>"
            )
    return _close(parts, area, labels, xs, series, unit)


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
    area = _area(series, width, height)
    group = area.plot_w / max(len(labels), 1)
    bar = max(group * 0.8 / max(len(series), 1), 0.5)
    parts = _frame(area, title, description, x_title, y_title)
    for n, one in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        for i, v in enumerate(one.values):
            x = area.left + i * group + group * 0.1 + n * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{area.y(v):.1f}" width="{bar:.1f}" '
                f'height="{area.baseline - area.y(v):.1f}" fill="{colour}"><title>'
                f"{escape(labels[i])}, {escape(one.label)}: {escape(_number(v))}{escape(unit)}"
                "</title></rect>"
            )
    centres = [area.left + i * group + group / 2 for i in range(len(labels))]
    return _close(parts, area, labels, centres, series, unit)
