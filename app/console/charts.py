"""Charts drawn on the server as SVG (no script, no library): bars for a series, a gauge for a
quota. Every chart is shown beside a table of its numbers; the SVG carries a title and each bar
its value, for screen readers and tooltips. Colours are presentation attributes, which the
console's Content-Security-Policy allows (no inline style)."""

from collections.abc import Sequence

from markupsafe import Markup
from markupsafe import escape

_WIDTH = 640
_HEIGHT = 220
_MARGIN = 28
_BAR = "#2f6f8f"
_TEXT = "#333333"
_TRACK = "#e3e8ec"
_FULL = "#b3452f"


def _number(value: int) -> str:
    return f"{value:,}"


def bar_chart(points: Sequence[tuple[str, int]], title: str) -> Markup:
    """One bar per (label, value), in order; an empty series says so."""
    name = escape(title)
    head = f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-label="{name}">'
    parts = [head, f"<title>{name}</title>"]
    if not points:
        parts.append(
            f'<text x="{_WIDTH // 2}" y="{_HEIGHT // 2}" text-anchor="middle" fill="{_TEXT}">'
            "nothing in this period</text>"
        )
        return Markup("".join([*parts, "</svg>"]))  # noqa: S704 (every text escaped)
    top = max(value for _, value in points) or 1
    inner_height = _HEIGHT - 2 * _MARGIN
    step = (_WIDTH - 2 * _MARGIN) / len(points)
    width = min(48.0, max(1.0, step * 0.8))
    label_every = max(1, len(points) // 12)  # at most a dozen labels under the axis
    for index, (label, value) in enumerate(points):
        height = inner_height * value / top
        x = _MARGIN + index * step + (step - width) / 2
        y = _MARGIN + inner_height - height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'fill="{_BAR}"><title>{escape(label)}: {_number(value)}</title></rect>'
        )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{_HEIGHT - 8}" font-size="11" '
                f'text-anchor="middle" fill="{_TEXT}">{escape(label)}</text>'
            )
    parts.append(
        f'<text x="{_MARGIN}" y="{_MARGIN - 8}" font-size="11" fill="{_TEXT}">'
        f"max {_number(top)}</text>"
    )
    return Markup("".join([*parts, "</svg>"]))  # noqa: S704 (every text escaped)


def gauge(used: int, limit: int | None, title: str) -> Markup:
    """A bar filled to used / limit (red when reached); without a limit, the count alone."""
    share = 0.0 if not limit else min(1.0, used / limit)
    fill = _FULL if limit and used >= limit else _BAR
    caption = f"{_number(used)} of {_number(limit)}" if limit else f"{_number(used)}, no quota"
    width = _WIDTH - 2 * _MARGIN
    return Markup(  # noqa: S704 (every text escaped)
        f'<svg class="gauge" viewBox="0 0 {_WIDTH} 60" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}: {escape(caption)}</title>"
        f'<rect x="{_MARGIN}" y="10" width="{width}" height="22" rx="4" fill="{_TRACK}"/>'
        f'<rect x="{_MARGIN}" y="10" width="{width * share:.1f}" height="22" rx="4" '
        f'fill="{fill}"/>'
        f'<text x="{_MARGIN}" y="52" font-size="12" fill="{_TEXT}">{escape(caption)}</text>'
        "</svg>"
    )
