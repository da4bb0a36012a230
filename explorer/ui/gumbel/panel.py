"""The Gumbel-Softmax panel: temperature playground, gradient estimators and annealing,
straight-through case studies, and Gumbel routing (notes, "Gumbel Softmax" and "Applications").

Four tabs, each in a scroll area so nothing is squeezed on small screens or in presentation
mode. All maths lives in ``explorer.core.gumbel_lab``, ``straight_through`` and ``routing``.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ..state import AppState
from ..widgets.naming import named
from .anneal_plot import AnnealPlot
from .gradient_plot import GradientPlot
from .moe_routing import MoeRouting
from .playground import Playground
from .ste_cases import SteCaseStudies



class _FillLayout(QVBoxLayout):
    """A layout that claims no height-for-width: a scroll area then gives its page the whole
    viewport and scrolls only below the page's minimum size (word-wrapped labels otherwise make
    it size the page to its preferred height, about twice the screen)."""

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt override)
        return False


class _WrappedHeight(QObject):
    """Keeps a word-wrapped label's minimum height at what its text needs at its width: the pages
    are sized by minimum sizes, which do not count word wrap, so the plots above were squeezed
    under the text (legends overlapped it)."""

    def eventFilter(self, label, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Paint, QEvent.Type.FontChange):
            need = label.heightForWidth(label.width())
            if need > 0 and need != label.minimumHeight():
                label.setMinimumHeight(need)
        return False


def _scrolling(page: QWidget, name: str) -> QScrollArea:
    holder = QWidget()
    layout = _FillLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(page)
    area = QScrollArea()
    area.setObjectName(f"{name}Scroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(holder)
    return area


class GumbelPanel(QWidget):
    """Playground, estimators, straight-through case studies and routing, one tab each."""

    title = "Gumbel-Softmax"
    object_name = "gumbelPanel"
    help_text = (
        "<p>Turn the temperature λ down and watch a soft sample become one-hot: the Gumbel-Softmax "
        "relaxation makes sampling from a categorical distribution differentiable.</p>"
        "<p style='font-size:120%'>y<sub>k</sub> = exp((log π<sub>k</sub> + g<sub>k</sub>)/λ) / "
        "Σ<sub>j</sub> exp((log π<sub>j</sub> + g<sub>j</sub>)/λ), &nbsp; "
        "g<sub>k</sub> = −log(−log U), U ~ Uniform(0, 1)</p>"
        "<p>(notes, <i>Gumbel-Softmax</i>: λ → 0 gives one-hot samples, λ → ∞ the uniform vector.)</p>"
        "<p><b>Temperature</b>: drag the logits, move λ (0.01 to 10, the notes' 1.0 / 0.5 / 0.1 one click "
        "away). One noise draw g is kept while λ moves; Resample takes the next seed, Animate keeps "
        "resampling. Hard: the forward value is one-hot, the gradient is the soft sample's "
        "(y<sub>hard</sub> − sg[y] + y). The histogram checks Gumbel-max: argmax(log π + g) ~ π.</p>"
        "<p><b>Gradients</b>: bias and variance of the soft, straight-through and score-function "
        "(REINFORCE) estimators of ∂E[f]/∂logits against λ; low λ is nearly discrete but noisy. The "
        "annealing schedule is λ<sub>t</sub> = max(λ<sub>min</sub>, λ<sub>0</sub>·exp(−r t)).</p>"
        "<p><b>Straight-through</b>: round and a binary gate, forward against backward; a regression "
        "through round() learns only with the STE (notes, <i>Case Study 1</i>).</p>"
        "<p><b>Routing</b>: a router picks one expert per point through Gumbel-Softmax (soft while "
        "training, argmax at inference); plain argmax routing gets no gradient and never learns to route.</p>")

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        named(self, "gumbelPanel", "Gumbel-Softmax")
        self.playground = Playground()
        self.gradients = GradientPlot()
        self.anneal = AnnealPlot()
        self.ste = SteCaseStudies()
        self.routing = MoeRouting()
        self.tabs = named(QTabWidget(), "gumbelTabs", "Gumbel-Softmax sections")
        self.tabs.addTab(_scrolling(self.playground, "gumbelPlayground"), "Temperature")
        self.tabs.addTab(_scrolling(self._gradients_page(), "gumbelEstimators"),
                         "Gradient estimators && annealing")
        self.tabs.addTab(_scrolling(self.ste, "steCaseStudies"), "Straight-through")
        self.tabs.addTab(_scrolling(self.routing, "moeRouting"), "Gumbel routing (MoE)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)
        self._wrapped_height = _WrappedHeight(self)
        for label in self.findChildren(QLabel):
            if label.wordWrap():
                label.installEventFilter(self._wrapped_height)
        self.playground.logits_changed.connect(self.gradients.set_logits)
        self.playground.temperature_changed.connect(self.gradients.set_temperature)
        self.gradients.set_logits(self.playground.logits, now=True)
        self.gradients.set_temperature(self.playground.lam)

    def _gradients_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("gumbelEstimatorsPage")
        grad_box = QGroupBox("Gradient estimators of ∂E[f(y)]/∂logits (logits and λ from the Temperature tab)")
        QVBoxLayout(grad_box).addWidget(self.gradients)
        anneal_box = QGroupBox("Annealing λ during training")
        QVBoxLayout(anneal_box).addWidget(self.anneal)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("gumbelEstimatorsSplitter")
        split.setChildrenCollapsible(False)         # a drag never squeezes a plot below its minimum
        split.addWidget(grad_box)
        split.addWidget(anneal_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.anneal.plot.setMinimumHeight(200)
        QVBoxLayout(page).addWidget(split)
        return page

    # -- the API --------------------------------------------------------------------
    def current_sample(self) -> np.ndarray:
        """The sample y shown (numpy, shape (K,)): soft, or its one-hot forward value when Hard."""
        return self.playground.current_sample()

    def set_temperature(self, value: float) -> None:
        """Set λ (clamped to [0.01, 10]); every view follows."""
        self.playground.set_temperature(value)

    def is_busy(self) -> bool:
        """True while the routing run trains (screenshots wait for it)."""
        return self.routing.is_running()

    # -- window hooks -----------------------------------------------------------------------
    def set_presentation(self, on: bool) -> None:
        for part in (self.playground, self.gradients, self.anneal, self.ste, self.routing):
            part.set_presentation(on)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("tab", self.tabs.currentIndex())
        settings.setValue("logits", [float(v) for v in self.playground.logits])
        settings.setValue("temperature", float(self.playground.lam))
        settings.setValue("seed", int(self.playground.seed_spin.value()))

    def restore_settings(self, settings: QSettings) -> None:
        try:
            logits = settings.value("logits")
            if isinstance(logits, (list, tuple)) and 2 <= len(logits) <= 10:
                self.playground.editor.set_logits(np.array([float(v) for v in logits]))
            if settings.value("temperature") is not None:
                self.set_temperature(float(settings.value("temperature")))
            if settings.value("seed") is not None:
                self.playground.seed_spin.setValue(int(settings.value("seed")))
            self.tabs.setCurrentIndex(int(settings.value("tab", 0)))
        except (TypeError, ValueError):
            pass                           # unreadable settings: keep the defaults

    def shutdown(self) -> None:
        """Stop timers and the routing worker (the window calls this when it closes)."""
        self.playground.stop()
        self.gradients.debounce.stop()
        self.ste.stop()
        self.routing.stop()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.shutdown()
        super().closeEvent(event)
