"""Server-rendered bar charts for the dashboard: the geometry of an SVG bar chart (the
template draws it; no JavaScript). Each chart on the page has a table with the same figures
beside it, so the SVG is a picture of the table (`role="img"` with a label)."""

from dataclasses import dataclass

WIDTH, HEIGHT = 600, 200  # the viewBox; the SVG scales to its box
LEFT, BOTTOM, TOP = 36, 28, 12
CHAR_WIDTH = 6.5  # about, at the labels' 11px: a slot narrower than its longest label turns
TURNED_BOTTOM = 64  # the labels 40° (and gets this room below the bars)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    sublabel: str
    value: object
    ok: bool | None  # against a goal: True met, False missed, None no goal or no value

    @property
    def cx(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class Chart:
    bars: list
    ticks: list  # [(y, text)]
    goal_y: float | None
    slot: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM
    turned: bool = False  # labels turned 40° (many bars), label and sublabel on one line

    @property
    def has_values(self) -> bool:
        """Whether any bar has a value (else the page says so instead of drawing empty axes)."""
        return any(bar.value is not None for bar in self.bars)


def bar_chart(items, *, maximum=None, goal=None, higher_is_better=True) -> Chart:
    """`items`: dicts with `label`, `value` (None: no bar) and optionally `sublabel`.
    `maximum`: the top of the scale (else the largest value, at least 1); `goal`: a line."""
    values = [i["value"] for i in items if i["value"] is not None]
    top = maximum if maximum is not None else max([1, *values])
    slot = (WIDTH - LEFT) / max(len(items), 1)
    longest = max(
        (len(str(i.get(k) or "")) for i in items for k in ("label", "sublabel")), default=0
    )
    turned = slot < longest * CHAR_WIDTH + 4
    bottom = TURNED_BOTTOM if turned else BOTTOM
    height = HEIGHT - BOTTOM + bottom
    plot_h = height - bottom - TOP
    bars = []
    for n, item in enumerate(items):
        value = item["value"]
        h = 0 if value is None else plot_h * min(value, top) / top
        ok, aim = None, item.get("goal", goal)
        if aim is not None and value is not None:
            ok = value >= aim if higher_is_better else value <= aim
        bars.append(
            Bar(
                x=round(LEFT + n * slot + slot * 0.15, 1),
                # (the label's centre: x + width / 2)
                y=round(height - bottom - h, 1),
                width=round(slot * 0.7, 1),
                height=round(h, 1),
                label=item["label"],
                sublabel=item.get("sublabel", ""),
                value=value,
                ok=ok,
            )
        )
    ticks = [(round(height - bottom - plot_h * f, 1), _tick(top * f)) for f in (0, 0.5, 1)]
    goal_y = None if goal is None else round(height - bottom - plot_h * min(goal, top) / top, 1)
    return Chart(
        bars=bars,
        ticks=ticks,
        goal_y=goal_y,
        slot=round(slot, 1),
        height=height,
        baseline=height - bottom,
        turned=turned,
    )


def _tick(value):
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
