"""Codebook panel driven as a user: tiles, sort box, histogram, map, live refresh."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QComboBox

from explorer.ui.codebook.panel import CodebookPanel
from explorer.ui.editor.panel import LatentEditor
from explorer.ui.state import AppState

from tiny_latent_bundle import K, tiny_editor_bundle
from ui_helpers import show_sized


def wait_idle(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.analysis is not None, timeout=10000)


@pytest.fixture
def panel(qtbot, mnist_root):
    state = AppState(tiny_editor_bundle(mnist_root))
    widget = show_sized(qtbot, CodebookPanel(state), 1000, 600)
    wait_idle(qtbot, widget)
    yield widget
    qtbot.waitUntil(lambda: not widget.is_busy(), timeout=10000)


def test_names(panel) -> None:
    assert panel.objectName() == "codebookPanel"
    for name in ("codebookTiles", "usageHistogram", "codebookProjection", "sortMode", "tileMode", "usageSplit"):
        w = panel.findChild(object, name)
        assert w is not None and w.accessibleName(), name


def test_k_tiles_and_histogram_counts_every_cell(panel) -> None:
    assert panel.tiles.tiles.shape[0] == K
    assert sorted(panel.tiles.displayed_codes()) == list(range(K))
    heights = panel.histogram.bar_heights()
    assert len(heights) == K
    n_images = len(panel.state.bundle.examples)
    assert heights.sum() == n_images * 7 * 7
    assert "perplexity" in panel.histogram.plot.getPlotItem().titleLabel.text
    counts = panel.analysis.usage.counts
    p = counts / counts.sum()
    expected = np.exp(-(p[p > 0] * np.log(p[p > 0])).sum())
    assert panel.analysis.usage.perplexity == pytest.approx(expected, rel=1e-4)


def test_clicking_a_tile_selects_the_code_for_the_editor(qtbot, panel) -> None:
    editor = LatentEditor(panel.state)
    qtbot.addWidget(editor)
    editor.resize(1000, 450)
    editor.show()
    target = (int(editor.grid.codes[3, 3]) + 3) % K
    qtbot.mouseClick(panel.tiles, Qt.LeftButton, Qt.NoModifier, panel.tiles.tile_rect(target).center())
    assert panel.state.selected_code == target
    assert panel.tiles.selected == target
    qtbot.mouseClick(editor.grid_view, Qt.LeftButton, Qt.NoModifier, editor.grid_view.cell_center(3, 3))
    assert editor.grid.codes[3, 3] == target


def test_hovering_a_tile_highlights_the_code_everywhere(qtbot, panel) -> None:
    code = 5
    with qtbot.waitSignal(panel.state.code_hovered) as sig:
        qtbot.mouseMove(panel.tiles, panel.tiles.tile_rect(code).center())
    assert sig.args == [code]
    assert panel.histogram.hovered == code and panel.projection.hovered == code
    assert list(panel.histogram.highlight.opts["x"]) == [code]


def test_sort_modes_reorder_tiles(qtbot, panel) -> None:
    sort = panel.findChild(QComboBox, "sortMode")
    assert panel.tiles.displayed_codes() == list(range(K))
    sort.setCurrentIndex(sort.findData("usage"))
    counts = panel.analysis.usage.counts
    shown = panel.tiles.displayed_codes()
    assert shown != list(range(K))
    assert all(counts[a] >= counts[b] for a, b in zip(shown, shown[1:]))
    sort.setCurrentIndex(sort.findData("similarity"))
    similar = panel.tiles.displayed_codes()
    assert sorted(similar) == list(range(K)) and similar not in (list(range(K)), shown)
    # the tile under a fixed spot is now a different code, and clicking it selects that code
    spot = panel.tiles.tile_rect(similar[0]).center()
    qtbot.mouseClick(panel.tiles, Qt.LeftButton, Qt.NoModifier, spot)
    assert panel.state.selected_code == similar[0]


def test_weights_updated_refreshes_tiles(qtbot, panel) -> None:
    before = panel.tiles.tiles.copy()
    with torch.no_grad():
        panel.state.bundle.vqvae.decoder.net[-1].bias.add_(0.25)
    for _ in range(5):                       # a burst of updates gives one recomputation
        panel.state.weights_updated.emit("vqvae")
    qtbot.waitUntil(lambda: not np.array_equal(panel.tiles.tiles, before), timeout=10000)
    wait_idle(qtbot, panel)
    grab = panel.tiles.grab().toImage()
    assert not grab.isNull()


def test_contribution_tiles_and_projection(qtbot, panel) -> None:
    mode = panel.findChild(QComboBox, "tileMode")
    assert mode.currentData() == "contribution"              # the default: what each code adds
    mode.setCurrentIndex(mode.findData("filled"))
    qtbot.waitUntil(lambda: panel.analysis.tile_mode == "filled" and not panel.is_busy(), timeout=10000)
    filled = panel.tiles.tiles.copy()
    mode.setCurrentIndex(mode.findData("contribution"))
    qtbot.waitUntil(lambda: panel.analysis.tile_mode == "contribution" and not panel.is_busy(), timeout=10000)
    neutral = panel.analysis.neutral_code
    assert (panel.tiles.tiles[neutral] == 255).all()      # the background adds nothing: white
    assert not np.array_equal(panel.tiles.tiles, filled)
    cmap = panel.analysis.cloud
    assert cmap.codes_xy.shape == (K, 2)
    assert len(cmap.points_xy) == len(panel.state.bundle.examples) * 49


def test_clicking_a_code_in_the_map_selects_it(qtbot, panel) -> None:
    plot = panel.projection.plot
    alive = np.flatnonzero(panel.analysis.usage.counts > 0)
    code = int(alive[0])
    vb = plot.getPlotItem().vb
    qtbot.wait(50)
    view_pt = plot.mapFromScene(vb.mapViewToScene(pg.Point(*panel.projection.code_position(code))))
    qtbot.mouseClick(plot.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(view_pt.x(), view_pt.y()))
    assert panel.state.selected_code in alive           # the marker under the pointer (markers may overlap)


def test_usage_on_the_training_split_loaded_off_the_gui_thread(qtbot, mnist_root) -> None:
    bundle = tiny_editor_bundle(mnist_root)
    bundle.data = {"name": "mnist", "root": str(mnist_root), "holdout_last": 1000}
    widget = CodebookPanel(AppState(bundle))
    qtbot.addWidget(widget)
    widget.show()
    split = widget.findChild(QComboBox, "usageSplit")
    qtbot.waitUntil(lambda: split.findData("train") >= 0, timeout=20000)
    wait_idle(qtbot, widget)
    split.setCurrentIndex(split.findData("train"))
    qtbot.waitUntil(lambda: not widget.is_busy() and widget.analysis.usage.cells == 2000 * 49, timeout=20000)
    assert widget.histogram.bar_heights().sum() == 2000 * 49
    assert "first 2000 of 9000" in widget.histogram.plot.getPlotItem().titleLabel.text


def test_unloadable_dataset_gives_a_plain_message(qtbot, mnist_root, tmp_path) -> None:
    bundle = tiny_editor_bundle(mnist_root)
    bundle.data = {"name": "mnist", "root": str(tmp_path)}          # no files there
    state = AppState(bundle)
    messages = []
    state.message.connect(messages.append)
    widget = CodebookPanel(state)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: any("not" in m for m in messages), timeout=20000)
    wait_idle(qtbot, widget)
    assert widget.findChild(QComboBox, "usageSplit").findData("train") < 0
    assert widget.histogram.bar_heights().sum() == len(bundle.examples) * 49      # examples still shown
