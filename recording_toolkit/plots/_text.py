"""Text on a chart that must stay readable: titles and labels wrapped to fit the figure,
reference lines labelled beside them, labels at the ends of bars, and the empty chart's note."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._style import STYLE, _ink, _root_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

def _no_data(ax: Axes, what: str) -> Axes:
    """An empty chart that says so: no ticks or grid of a scale with nothing on it."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.text(0.5, 0.5, f"No {what} in this selection", transform=ax.transAxes,
            ha="center", va="center", color=_ink(ax), alpha=0.7)
    _fit_ylabel(ax)
    return ax


def _fit_ylabel(ax: Axes) -> None:
    """The y axis label on two lines when the chart is too short for it on one."""
    label = ax.yaxis.label
    text = label.get_text()
    if not text or "\n" in text:
        return
    figure = ax.figure
    get = getattr(figure.canvas, "get_renderer", None)
    if get is None:
        return
    renderer = get()
    if label.get_window_extent(renderer).height > 0.9 * figure.bbox.height:
        label.set_text(textwrap.fill(text, max(12, len(text) // 2 + 4)))


#: Category labels (failure reasons, conference names) are wrapped at this many characters,
#: to at most this many lines: a long error text must not squeeze the bars off the figure.
_LABEL_WIDTH = 28
_LABEL_LINES = 3


def _wrap_label(label: str) -> str:
    """``label`` on lines of at most :data:`_LABEL_WIDTH` characters, ``…`` past the last."""
    return "\n".join(textwrap.wrap(label, _LABEL_WIDTH, max_lines=_LABEL_LINES,
                                   placeholder=" …")) or label


def _title(ax: Axes, text: str, **options: Any) -> None:
    """The chart's title, shown as written (a ``$`` in an amount starts no mathtext), its
    lines wrapped when the figure is too narrow for them. Set it last: it is measured against
    the chart as laid out."""
    options.setdefault("fontsize", STYLE["title"])
    _fit_ylabel(ax)  # first: a wrapped y label moves the axes, which the title centres on
    _wrap_to_fit(ax, ax.set_title(text, parse_math=False, **options), within=ax.figure)


def _wrap_to_fit(ax: Axes, label: Any, within: Any = None) -> None:
    """Wrap ``label``'s lines, shorter and shorter, until it fits across ``within`` (the
    axes by default)."""
    text = label.get_text()
    chars = max(len(line) for line in text.split("\n"))
    while chars > 20 and _overflows(ax, label, within=within):
        chars = int(chars * 0.85)
        label.set_text("\n".join(textwrap.fill(line, chars) for line in text.split("\n")))


def _overflows(ax: Axes, text: Any, within: Any = None) -> bool:
    """Whether ``text`` would reach past the left or right side of the axes (or of
    ``within``, e.g. the figure) as they will be laid out."""
    figure = _root_figure(ax)
    get = getattr(figure.canvas, "get_renderer", None) or getattr(figure, "_get_renderer", None)
    if get is None:  # a canvas that cannot measure text: keep the side asked for
        return False
    renderer = get()
    engine = figure.get_layout_engine()
    if engine is not None:  # measure against the axes as they will be laid out
        engine.execute(figure)
    box = text.get_window_extent(renderer)
    frame = (within or ax).get_window_extent(renderer)
    return box.x0 < frame.x0 + 2 or box.x1 > frame.x1 - 2


def _mark(ax: Axes, x: float, text: str, *, style: Any = "--", side: str = "right",
          y: float = 0.97, avoid: Sequence[Any] = ()) -> Any:
    """A vertical reference line at ``x``, labelled beside it (``side`` of the line, at
    ``y`` of the axes' height) rather than in a legend it could cross; the label goes to the
    other side when it would not fit there, and a row further in when it would cover one of
    the labels in ``avoid``. Call it once the axis limits are set."""
    from matplotlib.transforms import blended_transform_factory

    ink = _ink(ax)
    ax.axvline(x, color=ink, linestyle=style, linewidth=1)
    where = blended_transform_factory(ax.transData, ax.transAxes)
    # On a patch of the background: a line it has to cross runs behind it, not through it.
    label = ax.text(x, y, "", transform=where, va="top", color=ink, fontsize="small",
                    parse_math=False, bbox={"facecolor": ax.get_facecolor(), "edgecolor": "none",
                                            "pad": 1.0, "alpha": 0.9})
    for place in (side, "left" if side == "right" else "right"):
        label.set_text(f" {text}" if place == "right" else f"{text} ")
        label.set_horizontalalignment("left" if place == "right" else "right")
        if not _overflows(ax, label):
            break
    renderer = ax.figure.canvas.get_renderer() if hasattr(ax.figure.canvas, "get_renderer") \
        else None
    if renderer is not None and avoid:
        step = -0.08 if y > 0.5 else 0.08
        for row in range(1, 4):
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other.get_window_extent(renderer)) for other in avoid):
                break
            label.set_y(y + row * step)
    return label


def _bar_labels(ax: Axes, bars: Any, labels: Sequence[str], *, inside_from: float = 0.55
                ) -> None:
    """Labels at the end of horizontal bars: inside the long ones (from ``inside_from`` of
    the longest), beside the others, so no label runs off a narrow chart."""
    widths = [patch.get_width() for patch in bars.patches]
    longest = max(widths, default=0) or 1
    ink = _ink(ax)
    for patch, width, label in zip(bars.patches, widths, labels, strict=True):
        inside = width >= inside_from * longest
        y = patch.get_y() + patch.get_height() / 2
        ax.annotate(label, (width, y), xytext=(-4 if inside else 3, 0),
                    textcoords="offset points", ha="right" if inside else "left",
                    va="center", fontsize="small", parse_math=False,
                    color="white" if inside else ink)
    ax.set_xlim(0, longest * 1.02)
