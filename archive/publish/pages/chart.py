"""A small line chart as inline SVG: drawn on the server, printed as it is shown.

Every point carries its value and a note under its year (how many reports or agencies
it covers), so a reader sees at once what a trend is made of. Blank years are gaps,
not zeros.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 32, 56, 56


def _nice(value: float) -> float:
    """The round number at or above ``value`` an axis ends on (1, 2, 2.5, 5 × 10ⁿ)."""
    magnitude = 10 ** (len(str(int(abs(value)))) - 1) if abs(value) >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return value


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def line_chart(points: list[tuple[str, float | None, str]], title: str) -> str:
    """``points``: (x label, value or None, note) in order; returns an ``<svg>`` element."""
    values = [v for _, v, _ in points if v is not None]
    low = min(values + [0])
    top = _nice(max(values + [0]) or 1)
    span = (top - low) or 1
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = LEFT + (i * step if len(points) > 1 else inner_w / 2)
        return x, TOP + inner_h * (1 - (v - low) / span)

    parts = [
        f'<svg class="nb-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="20" class="nb-chart-title">{escape(title)}</text>',
    ]
    for fraction in (0, 0.5, 1):
        tick = low + span * fraction
        _, y = xy(0, tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="nb-grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="nb-axis">'
            f"{escape(_fmt(tick))}</text>"
        )
    segment: list[str] = []
    for i, (_, value, _) in enumerate(points):
        if value is None:
            if len(segment) > 1:
                parts.append(f'<polyline points="{" ".join(segment)}" class="nb-line"/>')
            segment = []
            continue
        x, y = xy(i, value)
        segment.append(f"{x:.1f},{y:.1f}")
    if len(segment) > 1:
        parts.append(f'<polyline points="{" ".join(segment)}" class="nb-line"/>')
    for i, (label, value, note) in enumerate(points):
        x, _ = xy(i, 0)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" '
            f'class="nb-axis">{escape(label)}</text>'
        )
        if note:
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 36}" text-anchor="middle" '
                f'class="nb-note">{escape(note)}</text>'
            )
        if value is not None:
            px, py = xy(i, value)
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" class="nb-point"/>'
                f'<text x="{px:.1f}" y="{py - 9:.1f}" text-anchor="middle" class="nb-value">'
                f"{escape(_fmt(value))}</text>"
            )
        else:
            parts.append(
                f'<text x="{x:.1f}" y="{TOP + inner_h / 2:.1f}" text-anchor="middle" '
                f'class="nb-note">空白</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
