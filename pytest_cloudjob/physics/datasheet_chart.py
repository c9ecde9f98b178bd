"""A picture of a ``datasheet`` check: the figure's estimate and its interval against the advertised value and
the margin band.

The scenario runner attaches it to the check's Allure step, passing or failing, as it does the ``distribution``
chart (docs/reporting.md). One horizontal axis in the figure's unit: the band advertised ± margin shaded, the
advertised value a dashed line, the estimate a dot with its Clopper-Pearson interval as an error bar (blue
when the interval meets the band, red when it misses it). :func:`chart_data` is a few attribute reads, made
only when a reporter keeps images; :func:`render_png` draws only when the step is written, with matplotlib's
Agg canvas (imported on first drawing); without matplotlib there is no picture and no error.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from pytest_cloudjob.physics import chart
from pytest_cloudjob.physics.datasheet import Finding, confidence

BAND_COLOUR, ADVERTISED_COLOUR = "#2ca02c", "#333333"


@dataclass(frozen=True)
class DatasheetChart:
    """What one datasheet chart shows: its title (where, the figure, the verdict), a line of figures, and the
    numbers drawn, all in the figure's unit (a fraction: 0.02 is 2 %)."""

    title: str
    figures: str
    label: str
    advertised: float
    band: tuple[float, float]
    estimate: float
    interval: tuple[float, float]
    passed: bool

    @property
    def attachment(self) -> str:
        """The Allure attachment's name."""
        return f"datasheet chart: {self.title}"

    def png(self) -> bytes | None:
        return render_png(self)


def chart_data(finding: Finding, where: str) -> DatasheetChart:
    """The chart of one datasheet check's ``finding`` at ``where`` (the results field checked)."""
    f = finding.figure
    band = (max(f.low, finding.advertised - finding.margin), min(f.high, finding.advertised + finding.margin))
    verdict = "passed" if finding.passed else "FAILED"
    figures = (f"estimate {finding.estimate:.4f}, {confidence(finding.level)} interval [{finding.interval[0]:.4f}, "
               f"{finding.interval[1]:.4f}] from {finding.x:,} coincidences in {finding.n:,} samples; advertised "
               f"{finding.advertised:.4f} ± {finding.margin:g} ('{f.key}'); p-value {finding.p_value:.3g}")
    return DatasheetChart(f"{where}: datasheet {f.label} {verdict} at alpha={finding.level:g}", figures, f.label,
                          finding.advertised, band, finding.estimate, finding.interval, finding.passed)


def render_png(data: DatasheetChart) -> bytes | None:
    """The chart as PNG bytes, or ``None`` when matplotlib is not installed (no picture, no error)."""
    if not chart.available():
        return None
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(7.5, 2.9), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colour = chart.OBSERVED_COLOUR if data.passed else chart.WORST_COLOUR
    axes.axvspan(*data.band, color=BAND_COLOUR, alpha=0.18,
                 label=f"advertised ± margin [{data.band[0]:.4f}, {data.band[1]:.4f}]")
    axes.axvline(data.advertised, color=ADVERTISED_COLOUR, linestyle="--", linewidth=1.2,
                 label=f"advertised {data.advertised:.4f}")
    low, high = data.interval
    axes.errorbar([data.estimate], [0], xerr=[[max(0.0, data.estimate - low)], [max(0.0, high - data.estimate)]],
                  fmt="o", color=colour, ecolor=colour, elinewidth=2.5, capsize=8, markersize=7,
                  label=f"estimate {data.estimate:.4f}, interval [{low:.4f}, {high:.4f}]")
    left, right = min(data.band[0], low), max(data.band[1], high)
    pad = max(right - left, 1e-3) * 0.25
    axes.set_xlim(left - pad, right + pad)
    axes.set_ylim(-1, 1.6)
    axes.set_yticks([])
    axes.set_xlabel(data.label)
    figure.suptitle(data.title, fontsize=9, color="black" if data.passed else chart.WORST_COLOUR)
    axes.set_title(data.figures, fontsize=7, color="#444444")
    axes.legend(fontsize=7, loc="upper center", ncols=3, frameon=False)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
