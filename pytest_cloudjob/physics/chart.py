"""A picture of a ``distribution`` check: expected against observed counts per outcome, the worst outcomes marked.

The scenario runner attaches it to the check's Allure step, passing or failing (docs/reporting.md). It stays
cheap: only the ``TOP`` outcomes of largest expected mass and the check's worst offenders (at most 5) get a
bar, everything else one "all other outcomes" bar, so a 12-mode / 6-photon reference (12,376 outcomes)
draws as fast as a 2-outcome one; :func:`chart_data` runs only when a reporter keeps images, and
:func:`render_png` only when the step is written. matplotlib (a dependency of Perceval) is imported on first
drawing, with its Agg canvas (no display, no change to the process's pyplot backend); without it there is
no picture and no error.
"""
from __future__ import annotations

import heapq
import importlib.util
import io
from collections.abc import Mapping
from dataclasses import dataclass

from pytest_cloudjob.physics import stats

TOP = 12  # outcomes of largest expected mass drawn, besides the worst ones
WORST_COLOUR, OBSERVED_COLOUR, EXPECTED_COLOUR = "#d62728", "#1f77b4", "#b0b0b0"


@dataclass(frozen=True)
class Bar:
    """One outcome (or the rest together): its expected count under the reference, the count seen, and
    whether it is one of the check's worst outcomes (largest per-outcome statistic)."""

    label: str
    expected: float
    seen: int
    worst: bool = False


@dataclass(frozen=True)
class ChartData:
    """What one chart shows: a title (where the check is, and its verdict), a line of figures, the bars."""

    title: str
    figures: str
    bars: tuple[Bar, ...]
    passed: bool

    @property
    def attachment(self) -> str:
        """The Allure attachment's name."""
        return f"distribution chart: {self.title}"

    def png(self) -> bytes | None:
        return render_png(self)


def chart_data(counts: Mapping[str, int], reference: Mapping[str, float], verdict: stats.Verdict, where: str,
               top: int = TOP) -> ChartData:
    """The bars of a chart of ``verdict`` (from :func:`stats.compare` of ``counts`` against ``reference``)."""
    total = sum(reference.values())
    n = verdict.shots
    largest = heapq.nlargest(top, ((p, state) for state, p in reference.items() if p > 0))
    worst = {o.state: o for o in verdict.worst}
    bars = [Bar(state, n * p / total, counts.get(state, 0), state in worst) for p, state in largest]
    drawn = {bar.label for bar in bars}
    for outcome in verdict.worst:  # the worst offenders not among the largest: their own bars
        if outcome.state not in drawn:
            bars.append(Bar(_short(outcome.state), outcome.expected, outcome.seen, True))
    listed = sum(1 for bar in bars if not bar.label.startswith("not in"))
    rest = sum(1 for p in reference.values() if p > 0) - listed
    if rest > 0:
        bars.append(Bar(f"all {rest:,} other outcomes", max(0.0, n - sum(b.expected for b in bars)),
                        max(0, n - sum(b.seen for b in bars))))
    verdict_word = "passed" if verdict.passed else "FAILED"
    figures = (f"{n:,} shots; TVD {verdict.tvd:.4f} (threshold {verdict.tvd_threshold:.4f}, {verdict.bins} bins); "
               f"max n*kl {verdict.chernoff:.2f} (threshold {verdict.chernoff_threshold:.2f}); "
               f"p-value {verdict.p_value:.3g}")
    return ChartData(f"{where}: distribution check {verdict_word} at alpha={verdict.alpha:g}", figures, tuple(bars),
                     verdict.passed)


def _short(state: str) -> str:
    """The unexpected outcomes' label, short enough for an axis: ``not in the reference (most seen: |1,1>)``."""
    if state.startswith(stats.UNEXPECTED):
        return "not in the reference" + state[len(stats.UNEXPECTED):]
    return state


def available() -> bool:
    """Whether matplotlib is installed (checked without importing it)."""
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        return False


def render_png(data: ChartData) -> bytes | None:
    """The chart as PNG bytes, or ``None`` when matplotlib is not installed (no picture, no error)."""
    if not available():
        return None
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError:
        return None
    bars = data.bars
    figure = Figure(figsize=(max(6.0, 0.55 * len(bars) + 2.0), 4.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    places = range(len(bars))
    axes.bar([x - 0.2 for x in places], [b.expected for b in bars], width=0.4, color=EXPECTED_COLOUR,
             edgecolor=[WORST_COLOUR if b.worst else EXPECTED_COLOUR for b in bars], linewidth=1.5,
             label="expected count (reference)")  # a worst outcome seen 0 times still shows in red
    axes.bar([x + 0.2 for x in places], [b.seen for b in bars], width=0.4,
             color=[WORST_COLOUR if b.worst else OBSERVED_COLOUR for b in bars], label="observed count")
    for x, bar in zip(places, bars):
        if bar.worst:
            axes.annotate("worst", (x + 0.2, max(bar.seen, bar.expected)), ha="center", va="bottom", fontsize=7,
                          color=WORST_COLOUR, xytext=(0, 2), textcoords="offset points")
    axes.set_xticks(list(places), [b.label for b in bars], rotation=60, ha="right", fontsize=7)
    axes.set_ylabel("shots")
    figure.suptitle(data.title, fontsize=9, color="black" if data.passed else WORST_COLOUR)
    axes.set_title(data.figures, fontsize=7, color="#444444")
    handles, _ = axes.get_legend_handles_labels()
    if any(b.worst for b in bars):
        handles.append(Patch(color=WORST_COLOUR, label="worst outcomes (largest n*kl)"))
    axes.legend(handles=handles, fontsize=7, loc="upper center")
    axes.margins(y=0.12)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
