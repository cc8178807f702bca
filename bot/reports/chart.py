"""The charts facilitators show sponsors: activity (weekly posts and introductions, and
coverage) and the marketplace's outputs (top areas, gaps, outcomes)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.kernel.text import truncate
from bot.reports.outputs import TOP, Outputs  # the marketplace's outputs
from bot.reports.stats import TARGET_PER_REGION, UNKNOWN_REGION, RegionCoverage, WeekActivity

WIDTH_IN, HEIGHT_IN, DPI = 12.0, 6.0, 100  # 1200 x 600 pixels: legible on a projector
POSTS_COLOUR, INTROS_COLOUR = "#1f6f8b", "#e07a1f"
MET_COLOUR, UNDER_COLOUR, TARGET_COLOUR = "#2e8b57", "#9aa5b1", "#c0392b"

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(title: str) -> tuple[Figure, Any, Any]:
    """A projector-sized figure with ``title`` and two panels side by side (left wider)."""
    # The Figure API with the Agg canvas needs no display and keeps no global state (unlike
    # pyplot), so two facilitators asking at once cannot draw on each other's chart.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=15, fontweight="bold")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    return fig, left, right


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def activity_png(
    weekly: Sequence[WeekActivity],
    regions: Sequence[RegionCoverage],
    *,
    title: str = "Wants & Offers Marketplace",
) -> bytes:
    """A PNG: posts and introductions per week (left) and councils by region against the target."""
    from matplotlib.ticker import MaxNLocator

    fig, left, right = _figure(title)

    labels = [w.week_start.strftime("%-d %b") for w in weekly]
    xs = list(range(len(weekly)))
    bar = 0.4
    left.bar(
        [x - bar / 2 for x in xs], [w.posts for w in weekly], bar, label="Posts", color=POSTS_COLOUR
    )
    left.bar(
        [x + bar / 2 for x in xs],
        [w.introductions for w in weekly],
        bar,
        label="Introductions",
        color=INTROS_COLOUR,
    )
    left.set_title(f"Activity by week (last {len(weekly)} weeks)")
    left.set_xticks(xs, labels, rotation=45, ha="right", fontsize=8)
    left.set_xlabel("Week beginning")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_ylim(bottom=0, top=max([1] + [max(w.posts, w.introductions) for w in weekly]) * 1.15)
    left.legend(loc="upper left", frameon=False)
    left.spines[["top", "right"]].set_visible(False)

    shown = [r for r in regions if r.region != UNKNOWN_REGION or r.councils]
    names = [r.region for r in shown][::-1]
    counts = [r.councils for r in shown][::-1]
    colours = [MET_COLOUR if r.councils >= r.target else UNDER_COLOUR for r in shown][::-1]
    right.barh(names, counts, color=colours)
    right.axvline(
        TARGET_PER_REGION,
        color=TARGET_COLOUR,
        linestyle="--",
        linewidth=1.5,
        label=f"Target ({TARGET_PER_REGION} a region)",
    )
    right.set_title("Councils taking part, by region")
    right.tick_params(axis="y", labelsize=8)
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_xlim(0, max([TARGET_PER_REGION + 1] + counts) + 0.5)
    right.legend(loc="lower right", frameon=False, fontsize=8)
    right.spines[["top", "right"]].set_visible(False)
    return _png(fig)


# The marketplace's outputs (top areas of demand and supply, gaps, outcomes)
DEMAND_COLOUR, SUPPLY_COLOUR = "#1f6f8b", "#e07a1f"


def outputs_png(found: Outputs) -> bytes:
    """A PNG for sponsors: the top 5 areas of demand and of supply (left), and the quarter's
    outcomes with the gaps (demand with no supply, by region) as text (right)."""
    from matplotlib.ticker import MaxNLocator

    fig, left, right = _figure(f"Marketplace outputs · {found.quarter.label}")
    areas = list(dict.fromkeys(a for a, _ in found.demand[:TOP] + found.supply[:TOP]))
    wants = dict(found.demand)
    offers = dict(found.supply)
    ys = list(range(len(areas)))[::-1]
    bar = 0.4
    left.barh(
        [y + bar / 2 for y in ys],
        [wants.get(a, 0) for a in areas],
        bar,
        label="Wants (demand)",
        color=DEMAND_COLOUR,
    )
    left.barh(
        [y - bar / 2 for y in ys],
        [offers.get(a, 0) for a in areas],
        bar,
        label="Offers (supply)",
        color=SUPPLY_COLOUR,
    )
    left.set_yticks(ys, areas, fontsize=8)
    left.set_title("Top areas of demand and supply")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.legend(loc="lower right", frameon=False, fontsize=8)
    left.spines[["top", "right"]].set_visible(False)

    right.axis("off")
    lines = [
        f"{found.introductions} introductions; {found.led_somewhere} led somewhere",
        f"{found.days_saved:,.0f} days saved",
        "",
        "Gaps (demand, no supply):",
        *[f"  {g.region}: {g.area} ({g.wants})" for g in found.gaps[:6]],
    ]
    if not found.gaps:
        lines.append("  none")
    if found.stories:
        lines += ["", "Outcomes:"]
        lines += [f"  {truncate(o.sentence, 70)}" for o in found.stories[:3]]
    right.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=10, family="sans-serif")
    right.set_title("Outcomes and gaps")
    return _png(fig)
