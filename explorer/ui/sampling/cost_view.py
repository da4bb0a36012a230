"""How slow raster sampling is, measured here with this model (notes: "sampling needs one pass
per position"): naive (H·W full passes), fast (cached activations), and one teacher-forced
pass (what a training step does for a whole grid)."""
from __future__ import annotations

import copy

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from explorer.core.sampling_cost import SamplingCost, sampling_cost_steps
from explorer.ui.widgets.naming import named


BATCH = 16             # the second measure: a batch, where the cached sampler's per-call costs are shared
BATCH_BUDGET_S = 4.0   # ... skipped when BATCH one-grid naive runs would take longer (a slow prior's
                       # batch would keep a core busy for tens of seconds: the PixelCNN ensemble's, 23 s)


def batch_naive_bound_s(cost: SamplingCost) -> float:
    """An upper bound on the naive run of a batch of :data:`BATCH`: that many one-grid runs."""
    return BATCH * cost.naive_grid_s


def measure_on_copy(prior, n: int):
    """Worker (a generator: it can be stopped between steps) on a deep copy of the prior: the cost
    of ``n`` grids, then of a batch of :data:`BATCH` unless that would be slow, each the best of 2.
    Returns both (the batch's None when skipped)."""
    cost: SamplingCost = yield from sampling_cost_steps(prior, n=n, repeats=2)
    if batch_naive_bound_s(cost) > BATCH_BUDGET_S:
        return cost, None
    batch: SamplingCost = yield from sampling_cost_steps(prior, n=BATCH, repeats=2)
    return cost, batch


def copy_prior(prior):
    return copy.deepcopy(prior).cpu().eval()


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def sampler_rows(cost: SamplingCost, naive: str) -> str:
    """Table rows: the naive and the fast sampler's time per step and per grid."""
    return (f"<tr><td>{naive}</td><td align='right'>{ms(cost.naive_step_s)}</td>"
            f"<td align='right'>{ms(cost.naive_grid_s)}</td></tr>"
            f"<tr><td>fast (cached)</td><td align='right'>{ms(cost.fast_step_s)}</td>"
            f"<td align='right'>{ms(cost.fast_grid_s)}</td></tr>")


def summary_line(cost: SamplingCost, batch: SamplingCost | None) -> str:
    """The panel's one-line cost summary (rich text): per step, the batch's speed-up, per grid."""
    for_batch = "" if batch is None else f"; {batch.speedup:.0f}× for {batch.n} grids"
    return (f"<b>Cost</b> (this machine): fast {cost.fast_step_s * 1e3:.1f} ms/step, "
            f"naive {cost.naive_step_s * 1e3:.1f} ms/step ({cost.speedup:.1f}× slower{for_batch}) · a grid: "
            f"{cost.fast_grid_s * 1e3:.0f} ms vs one teacher-forced pass {cost.teacher_forcing_s * 1e3:.0f} ms")


class CostView(QWidget):
    """A small table of measured times and the naive / fast ratio."""

    measure_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "samplingCost", "Cost of sampling on this machine",
              "Time per step and per grid of the naive and the fast sampler, measured with this model")
        self.text = named(QLabel("Measuring…"), "samplingCostText", "Measured sampling times")
        self.text.setTextFormat(Qt.RichText)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.again = named(QPushButton("Measure again"), "samplingCostMeasure", "Measure the sampling cost again")
        self.again.clicked.connect(self.measure_requested)
        row = QHBoxLayout()
        row.addWidget(QLabel("<b>Cost of sampling</b>"))
        row.addStretch(1)
        row.addWidget(self.again)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.text, 1)
        self.cost: SamplingCost | None = None
        self.batch_cost: SamplingCost | None = None

    def set_message(self, text: str) -> None:
        self.cost = self.batch_cost = None
        self.text.setText(text)

    def set_cost(self, cost: SamplingCost, batch_cost: SamplingCost | None = None) -> None:
        """``cost``: one grid (``cost.n``); ``batch_cost``: a batch, shown as its own rows."""
        self.cost, self.batch_cost = cost, batch_cost
        batch_rows = "" if batch_cost is None else (
            f"<tr><td colspan='3'><i>a batch of {batch_cost.n} grids</i></td></tr>" + sampler_rows(batch_cost, "naive"))
        batch_note = (f" A batch of {BATCH} is not measured for this prior: its naive run alone could take up to "
                      f"{batch_naive_bound_s(cost):.0f} s." if batch_cost is None else
                      f" For a batch of {batch_cost.n} the cache saves more: <b>{batch_cost.speedup:.1f}×</b> (one "
                      f"call per step serves every grid, while a full pass grows with the batch).")
        self.text.setText(
            f"<table cellspacing='0' cellpadding='2'>"
            f"<tr><td></td><td align='right'><i>per step</i></td><td align='right'><i>per grid</i></td></tr>"
            f"{sampler_rows(cost, f'naive ({cost.positions} full passes)')}"
            f"<tr><td>teacher forcing (1 pass)</td><td></td><td align='right'>{ms(cost.teacher_forcing_s)}</td></tr>"
            f"{batch_rows}</table>"
            f"<p>caching is <b>{cost.speedup:.1f}×</b> faster; sampling a grid still takes "
            f"<b>{cost.fast_grid_s / max(cost.teacher_forcing_s, 1e-9):.0f}×</b> one training pass "
            f"(batch of {cost.n}, CPU).{batch_note}</p>")
