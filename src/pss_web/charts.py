"""Charts drawn on the server as inline SVG: horizontal bars, one per row of a statistics table,
readable without any script and printable as they are."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 720
LABEL_WIDTH = 260
BAR_HEIGHT = 22
GAP = 8


def _value_text(value: float, money: bool) -> str:
    if money:
        return f"{value / 100:,.2f}"
    return (
        f"{value:,.1f}"
        if isinstance(value, float) and not value.is_integer()
        else f"{int(value):,}"
    )


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[float], *, money: bool = False
) -> Markup:
    """An SVG bar chart of ``values`` against ``labels``; its ``<title>`` and the table beside
    it say in words what it shows."""
    n = len(values)
    height = GAP + n * (BAR_HEIGHT + GAP)
    top = max((float(v) for v in values), default=0.0) or 1.0
    room = WIDTH - LABEL_WIDTH - 90
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = GAP + i * (BAR_HEIGHT + GAP)
        w = max(round(room * float(value) / top), 1 if value else 0)
        text_y = y + BAR_HEIGHT * 0.72
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{text_y:.1f}" text-anchor="end" '
            f'class="label">{escape(str(label))[:40]}</text>'
        )
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w}" height="{BAR_HEIGHT}" '
            f'class="bar"><title>{escape(str(label))}: '
            f"{_value_text(float(value), money)}</title></rect>"
        )
        parts.append(
            f'<text x="{LABEL_WIDTH + w + 6}" y="{text_y:.1f}" class="value">'
            f"{_value_text(float(value), money)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  labels escaped above, values are numbers
