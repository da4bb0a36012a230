"""Gumbel routing, trained live: a router picks one of E linear experts for each 2-D point.

Left: the plane coloured by the expert the Gumbel-trained router picks (hard argmax at
inference), with the model's decision boundary and the training points; beside it the same for
plain argmax routing (the router gets no gradient and never learns to route). Right: loss,
held-out accuracy, and each expert's share of the held-out points.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from explorer.core.routing import ROUTERS, RoutingConfig, RoutingSnapshot

from ..widgets.naming import named
from .moe_run import RoutingRun
from .plot_style import COLORS, EXPERT_COLORS, StyledPlot, pen

ROUTER_TITLES = {"gumbel": "Gumbel router", "argmax": "argmax router"}
ROUTER_COLORS = {"gumbel": "blue", "argmax": "red"}


def expert_image(expert_map: np.ndarray, experts: int) -> np.ndarray:
    """(grid, grid) expert indices -> (grid, grid, 3) uint8, pale expert colours."""
    palette = np.array([QColor(c).getRgb()[:3] for c in EXPERT_COLORS[:experts]], dtype=np.float64)
    pale = 0.45 * palette + 0.55 * 255.0
    return pale[expert_map].astype(np.uint8)


class RoutingPlane(StyledPlot):
    """The plane coloured by the routed expert, the decision boundary P(class 1) = 0.5, the points."""

    def __init__(self, router: str, config: RoutingConfig) -> None:
        super().__init__(ROUTER_TITLES[router], f"moePlane_{router}", f"{ROUTER_TITLES[router]}: plane by expert",
                         x_label="x₁", y_label="x₂")
        self.setMouseEnabled(x=False, y=False)
        self.getPlotItem().setAspectLocked(True)
        self.config = config
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self.boundary = pg.IsocurveItem(level=0.5)
        self.boundary.setParentItem(self.image)
        self.points = [pg.ScatterPlotItem(symbol=s) for s in ("o", "t1")]
        for item in self.points:
            self.addItem(item)
        e = config.extent
        self.setRange(xRange=(-e, e), yRange=(-e, e), padding=0)
        self.expert_map = np.zeros((config.grid, config.grid), dtype=np.int64)
        self.restyle()

    def set_state(self, snapshot: RoutingSnapshot, router: str) -> None:
        state = snapshot.routers[router]
        self.expert_map = state.expert_map
        # ImageItem indexes (x, y); the maps are (row = x2, column = x1)
        self.image.setImage(np.transpose(expert_image(state.expert_map, self.config.experts), (1, 0, 2)),
                            levels=(0, 255))
        e = self.config.extent
        self.image.setRect(QRectF(-e, -e, 2 * e, 2 * e))     # after setImage: the pixel -> plane scale
        self.boundary.setData(state.class_map.T)
        for label, item in enumerate(self.points):
            mask = snapshot.train_labels == label
            item.setData(snapshot.train_points[mask, 0], snapshot.train_points[mask, 1])
        self.set_title(f"{ROUTER_TITLES[router]}: {100 * state.test_accuracy:.1f} % held out, "
                       f"{state.experts_used} expert{'s' if state.experts_used != 1 else ''}")

    def restyle(self) -> None:
        on = self.presentation
        self.boundary.setPen(pen(COLORS["black"], False, scale=1.6 if on else 1.2))
        for item, colour in zip(self.points, ("#333333", "#ffffff")):
            item.setPen(pg.mkPen("#000000", width=1))
            item.setBrush(pg.mkBrush(colour))
            item.setSize(9 if on else 6)


class ExpertLoad(StyledPlot):
    """Share of held-out points each expert runs, both routers side by side."""

    def __init__(self, experts: int) -> None:
        super().__init__("Expert load (filled: Gumbel, dashed: argmax)", "moeExpertLoad", "Expert load bar chart",
                         x_label="expert", y_label="share of points")
        self.setMouseEnabled(x=False, y=False)
        self.experts = experts
        self.bars = {name: pg.BarGraphItem(x=[], height=[], width=0.38) for name in ROUTERS}
        for bars in self.bars.values():
            self.addItem(bars)
        self.getPlotItem().getAxis("bottom").setTicks([[(i, str(i)) for i in range(experts)]])
        self.setXRange(-0.6, experts - 0.4, padding=0)
        self.setYRange(0, 1.25, padding=0)
        self.loads = {name: np.zeros(experts) for name in ROUTERS}
        self.restyle()

    def set_loads(self, snapshot: RoutingSnapshot) -> None:
        for offset, name in zip((-0.2, 0.2), ROUTERS):
            self.loads[name] = snapshot.routers[name].load.copy()
            self.bars[name].setOpts(x=np.arange(self.experts) + offset, height=self.loads[name])

    def restyle(self) -> None:
        """Gumbel bars filled with the expert's colour (as in the planes); argmax bars outlined."""
        on = self.presentation
        colours = EXPERT_COLORS[:self.experts]
        self.bars["gumbel"].setOpts(brushes=[pg.mkBrush(c) for c in colours],
                                    pens=[pg.mkPen("#000000", width=1)] * self.experts)
        self.bars["argmax"].setOpts(brushes=[pg.mkBrush(QColor(c).lighter(140)) for c in colours],
                                    pens=[pen(COLORS["red"], on, Qt.PenStyle.DashLine, 0.8)] * self.experts)


class MoeRouting(QWidget):
    """Start / Pause, the two planes, loss and accuracy curves and the expert load."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "moeRouting", "Gumbel routing: mixture of experts")
        self.config = RoutingConfig()
        self.start_button = named(QPushButton("Start"), "moeStart", "Start training the mixture of experts",
                                  "Train both routers from the same start (seed 0)")
        self.pause_button = named(QPushButton("Pause"), "moePause", "Pause or resume the mixture of experts")
        self.pause_button.setEnabled(False)
        self.accuracy_label = named(QLabel("Press Start: both routers train side by side from the same weights."),
                                    "moeAccuracy", "Mixture of experts accuracy")
        self.accuracy_label.setWordWrap(True)
        self.planes = {name: RoutingPlane(name, self.config) for name in ROUTERS}
        self.loss_plot = StyledPlot("Training loss (cross-entropy)", "moeLossPlot", "Mixture of experts loss",
                                    x_label="step", legend=2)
        self.acc_plot = StyledPlot("Held-out accuracy (hard)", "moeAccuracyPlot",
                                   "Mixture of experts accuracy plot", x_label="step", legend=2)
        self.loss_curves = {n: self.loss_plot.add_line(ROUTER_TITLES[n]) for n in ROUTERS}
        self.acc_curves = {n: self.acc_plot.add_line(ROUTER_TITLES[n]) for n in ROUTERS}
        for plot in (self.loss_plot, self.acc_plot):
            plot.setMouseEnabled(x=False, y=False)
            plot.setXRange(0, self.config.steps, padding=0.02)
            plot.restyle = self._restyle_curves
        self.acc_plot.setYRange(0.4, 1.02, padding=0)
        self.load_plot = ExpertLoad(self.config.experts)
        self.note = QLabel(
            f"Four blobs in an XOR pattern (○ class 0, △ class 1); {self.config.experts} linear experts. "
            f"Background: the expert the router picks (argmax at inference); black line: decision boundary. "
            f"Gumbel router trains with λ annealed {self.config.tau_start:g} → {self.config.tau_min:g}.")
        self.note.setWordWrap(True)
        self._layout()
        self.run: RoutingRun | None = None
        self.history: dict[str, list[tuple[int, float, float]]] = {n: [] for n in ROUTERS}
        self.last: RoutingSnapshot | None = None
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self._restyle_curves()

    def _layout(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        controls.addWidget(self.start_button)
        controls.addWidget(self.pause_button)
        controls.addWidget(self.accuracy_label, 1)
        grid.addLayout(controls, 0, 0, 1, 3)
        grid.addWidget(self.planes["gumbel"], 1, 0, 3, 1)
        grid.addWidget(self.planes["argmax"], 1, 1, 3, 1)
        grid.addWidget(self.loss_plot, 1, 2)
        grid.addWidget(self.acc_plot, 2, 2)
        grid.addWidget(self.load_plot, 3, 2, 2, 1)
        grid.addWidget(self.note, 4, 0, 1, 2, Qt.AlignmentFlag.AlignTop)
        for col in range(3):
            grid.setColumnStretch(col, 1)
        grid.setRowStretch(1, 1)
        grid.setRowStretch(2, 1)
        grid.setRowStretch(3, 1)

    # -- run control ------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.run is not None and not self.run.is_done

    def start(self) -> None:
        """(Re)start both routers from the same initial weights."""
        self.stop()
        self.history = {n: [] for n in ROUTERS}
        self.run = RoutingRun(self.config, self)
        self.run.event.connect(self._on_snapshot)
        self.run.finished.connect(self._on_finished)
        self.run.paused.connect(lambda: self.pause_button.setText("Resume"))
        self.run.resumed.connect(lambda: self.pause_button.setText("Pause"))
        self.start_button.setText("Restart")
        self.pause_button.setEnabled(True)
        self.pause_button.setText("Pause")
        self.accuracy_label.setText("Training…")
        self.run.start()

    def toggle_pause(self) -> None:
        if not self.is_running():
            return
        (self.run.resume() if self.run.is_paused else self.run.pause())

    def stop(self, timeout_s: float = 10.0) -> None:
        """Quit the run (if any) and wait for its thread."""
        if self.run is not None:
            run, self.run = self.run, None
            run.abort()
            for signal in (run.event, run.finished, run.paused, run.resumed):
                signal.disconnect()                    # a late signal of the old run must not touch the view
            if run.wait(timeout_s):
                run.deleteLater()

    def _on_finished(self) -> None:
        self.pause_button.setEnabled(False)
        self.pause_button.setText("Pause")

    def _on_snapshot(self, s: RoutingSnapshot) -> None:
        self.last = s
        for name in ROUTERS:
            r = s.routers[name]
            self.history[name].append((s.step, r.loss, r.test_accuracy))
            h = np.array(self.history[name])
            self.loss_curves[name].setData(h[:, 0], h[:, 1])
            self.acc_curves[name].setData(h[:, 0], h[:, 2])
            self.planes[name].set_state(s, name)
        self.load_plot.set_loads(s)
        g, a = s.routers["gumbel"], s.routers["argmax"]
        state = "done" if s.done else f"step {s.step}/{self.config.steps}, λ = {s.temperature:.2f}"
        self.accuracy_label.setText(
            f"<b>{state}</b> · Gumbel routing: hard-routing test accuracy <b>{100 * g.test_accuracy:.1f} %</b>, "
            f"{g.experts_used} of {self.config.experts} experts carry traffic · plain argmax: "
            f"{100 * a.test_accuracy:.1f} %, {a.experts_used} expert{'s' if a.experts_used != 1 else ''} "
            f"(router gradient {a.router_grad_norm:g}) · seed {self.config.seed}")

    def _restyle_curves(self) -> None:
        on = self.loss_plot.presentation
        for name in ROUTERS:
            for curves in (self.loss_curves, self.acc_curves):
                curves[name].setPen(pen(COLORS[ROUTER_COLORS[name]], on,
                                        Qt.PenStyle.DashLine if name == "argmax" else None))

    def set_presentation(self, on: bool) -> None:
        for plot in (*self.planes.values(), self.loss_plot, self.acc_plot, self.load_plot):
            plot.set_presentation(on)
