"""What changing the settings mid-run does to the Sampling panel's run, what the cost line says
while a new bundle is measured, and what the exported GIF shows of a class-conditional run."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget

import explorer.ui.sampling.export as export_module
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.ui.sampling.controls import TEMPERATURES
from conftest import TINY_PRIOR, make_tiny_bundle
from test_sampling_panel import click, expected_grid, make_panel, panel  # noqa: F401 (a fixture)


def raster(grid: np.ndarray) -> np.ndarray:
    return grid.reshape(-1)


def test_changing_temperature_mid_run_keeps_the_drawn_cells_and_continues(qtbot, panel) -> None:
    for _ in range(12):
        click(qtbot, panel, "samplingStep")
    drawn = panel.current_grid().copy()
    batch = panel.session.grids().copy()
    panel.controls.temperature.setValue(TEMPERATURES.index(0.5))
    # at once, nothing drawn is thrown away: the same 12 cells, the same step
    assert panel.session.t == 12
    np.testing.assert_array_equal(panel.current_grid(), drawn)
    np.testing.assert_array_equal(panel.grid_view.codes, drawn)
    assert "kept" in panel.status.text() and "T = 0.5" in panel.status.text()
    assert "given=kept" in panel.reproduce.text() and "Cells 1–12" in panel.reproduce.text()
    click(qtbot, panel, "samplingRunToEnd")
    grid = panel.current_grid()
    np.testing.assert_array_equal(raster(grid)[:12], raster(drawn)[:12])
    # the rest is drawn at T = 0.5 from the same seed: prior.sample(..., given=the kept cells)
    given = batch.copy()
    s = panel.sampling_settings()
    expected = panel.state.bundle.prior.sample(s["n"], temperature=0.5, top_k=None, labels=None,
                                               generator=torch.Generator().manual_seed(s["seed"]),
                                               given=torch.from_numpy(given))[s["index"]].numpy()
    np.testing.assert_array_equal(grid, expected)
    # the worker's run (gallery, decoded views) is the same continued run
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.views is not None, timeout=15_000)
    np.testing.assert_array_equal(panel.gallery_grids[s["index"]], grid)
    # Reset: a fresh run at T = 0.5 alone, as the reproduce line then says
    click(qtbot, panel, "samplingReset")
    assert panel.session.t == 0 and not panel.session.kept and "given" not in panel.reproduce.text()
    click(qtbot, panel, "samplingRunToEnd")
    np.testing.assert_array_equal(panel.current_grid(), expected_grid(panel.state.bundle.prior,
                                                                      panel.sampling_settings()))


def test_a_new_seed_mid_run_says_it_is_a_new_run(qtbot, panel) -> None:
    for _ in range(5):
        click(qtbot, panel, "samplingStep")
    messages = []
    panel.state.message.connect(messages.append)
    panel.findChild(QWidget, "samplingSeed").setValue(77)
    assert "New seed 77: a new run" in panel.status.text()
    assert messages and "a new run" in messages[-1]


def test_cost_line_says_measuring_while_a_new_bundle_is_measured(qtbot, panel) -> None:
    assert "ms/step" in panel.cost_line.text()
    panel.state.set_bundle(make_tiny_bundle())
    assert "measuring" in panel.cost_line.text() and "ms/step" not in panel.cost_line.text()
    qtbot.waitUntil(lambda: "ms/step" in panel.cost_line.text(), timeout=20_000)
    qtbot.mouseClick(panel.cost.again, Qt.LeftButton)
    assert "measuring" in panel.cost_line.text()
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=20_000)


def test_gif_frames_show_the_requested_class(qtbot, tmp_path, monkeypatch) -> None:
    bundle = make_tiny_bundle()
    torch.manual_seed(1)
    bundle.prior = build_prior(PriorConfig(**TINY_PRIOR, num_classes=10)).eval()
    panel = make_panel(qtbot, bundle)
    panel.findChild(QWidget, "samplingClass").setCurrentIndex(7)
    click(qtbot, panel, "samplingStep")
    titles = []
    render = export_module.render_frame
    monkeypatch.setattr(export_module, "render_frame", lambda *a: titles.append(a[3]) or render(*a))
    out = tmp_path / "class7.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "GIF (*.gif)"))
    click(qtbot, panel, "samplingExportGif")
    with Image.open(out) as gif:
        assert gif.n_frames == 49
    assert len(titles) == 49 and all("class 7" in t for t in titles)
    png = tmp_path / "frame.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(png), "PNG (*.png)"))
    click(qtbot, panel, "samplingExportPng")
    assert "class 7" in titles[-1] and png.exists()
