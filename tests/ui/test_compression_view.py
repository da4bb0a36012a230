"""The compression view: a click runs the encode/decode round trip and fills the table and the plot."""
from __future__ import annotations

import math

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QTableWidget

from explorer.ui.likelihood.compression_view import (COLUMNS, PRESENTING_HIDDEN, PRESENTING_PLOT_MIN_WIDTH,
                                                     CompressionView)


@pytest.fixture
def view(qtbot, app_state):
    view = CompressionView(app_state)
    qtbot.addWidget(view)
    view.resize(1100, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def cell(table: QTableWidget, row: int, key: str) -> str:
    return table.item(row, [k for k, _ in COLUMNS].index(key)).text()


def run_and_wait(qtbot, view: CompressionView) -> None:
    button = view.findChild(QPushButton, "compressionRun")
    assert button.isEnabled()
    with qtbot.waitSignal(view.finished, timeout=60_000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert not button.isEnabled()                    # one run at a time
    qtbot.waitUntil(lambda: view.table.rowCount() > 0, timeout=5_000)
    assert button.isEnabled()


def test_run_fills_the_table_and_the_rate_distortion_plot(qtbot, view: CompressionView, app_state) -> None:
    table = view.findChild(QTableWidget, "compressionTable")
    assert table.rowCount() == 0
    run_and_wait(qtbot, view)
    n = len(app_state.bundle.examples)
    assert table.rowCount() == n + 1                     # the mean, then each image
    label = int(app_state.bundle.examples.labels[0])
    assert cell(table, 0, "name") == f"mean of {n}"
    assert cell(table, 1, "name") == ("example 0" + (f" (label {label})" if label >= 0 else ""))
    assert cell(table, 1, "raw_bytes") == "784" and cell(table, 1, "uniform_bits") == "196.0"
    rows = view.report["rows"]
    assert float(cell(table, 0, "coded_bits")) == pytest.approx(sum(r["coded_bits"] for r in rows) / n, abs=0.06)
    assert float(cell(table, 2, "mse")) == pytest.approx(rows[1]["mse"], abs=1e-5)
    assert "Done" in view.status.text() and "JPEG needs" in view.summary.text()
    # the plot: the bundle as one point, JPEG and WebP as curves over their quality sweeps, in the legend
    plot = view.findChild(type(view.plot), "compressionRateDistortion")
    items = plot.getPlotItem().listDataItems()
    names = [item.name() for item in items]
    assert names == ["JPEG (quality sweep)", "WebP (quality sweep)", "tiny (VQ-VAE + prior)"]
    assert len(items[0].xData) == len(view.report["rd"]["jpeg"]) > 5
    assert [label.text for _, label in view.legend.items] == names
    x, y = items[2].getData()                            # log mode: the plot holds log10 of the values
    assert 10 ** x[0] == pytest.approx(view.report["mean"]["coded_bits"])
    assert 10 ** y[0] == pytest.approx(view.report["mean"]["mse"])


def test_another_bundle_clears_the_results(qtbot, view: CompressionView, app_state) -> None:
    run_and_wait(qtbot, view)
    app_state.set_bundle(app_state.bundle)
    assert view.table.rowCount() == 0 and view.report is None
    assert view.plot.getPlotItem().listDataItems() == []


def test_presentation_mode_grows_fonts_and_keeps_names(qtbot, view: CompressionView) -> None:
    before = view.table.font().pointSizeF()
    view.set_presentation(True)
    assert view.table.font().pointSizeF() >= 14 > before
    assert view.plot.getPlotItem().getAxis("bottom").style["tickFont"].pointSizeF() >= 14
    view.set_presentation(False)
    assert view.table.font().pointSizeF() == before
    for widget in (view.run_button, view.table, view.plot, view.status, view.summary):
        assert widget.objectName() and widget.accessibleName()


def hint_texts(view: CompressionView) -> list[str]:
    return [item.textItem.toPlainText() for item in view.plot.getPlotItem().items if isinstance(item, pg.TextItem)]


def test_the_empty_plot_says_what_it_will_show_and_presenting_keeps_it_readable(qtbot, view: CompressionView) -> None:
    """Before a run the plot shows a hint over labelled decades; when presenting, the columns that are
    the same for every digit give way so the plot keeps its minimum width beside the table."""
    assert any("Compress examples" in text for text in hint_texts(view))
    (x0, x1), (y0, y1) = view.plot.getPlotItem().viewRange()        # log10: 50-8000 bits, MSE 1e-5 to 0.02
    assert (x0, x1, y0, y1) == pytest.approx((math.log10(50), math.log10(8000), -5, math.log10(0.02)), abs=0.01)
    view.resize(1280, 600)
    view.set_presentation(True)
    run_and_wait(qtbot, view)
    hidden = {key for c, (key, _) in enumerate(COLUMNS) if view.table.isColumnHidden(c)}
    assert hidden == set(PRESENTING_HIDDEN)
    qtbot.waitUntil(lambda: view.plot.width() >= PRESENTING_PLOT_MIN_WIDTH, timeout=5_000)
    assert hint_texts(view) == []                                   # the results replaced the hint
    view.set_presentation(False)
    assert not any(view.table.isColumnHidden(c) for c in range(len(COLUMNS)))


def test_no_prior_disables_the_run(qtbot, app_state) -> None:
    bundle = app_state.bundle
    bundle.prior = None
    app_state.set_bundle(bundle)
    view = CompressionView(app_state)
    qtbot.addWidget(view)
    assert not view.run_button.isEnabled() and "no prior" in view.status.text()


def test_given_images_are_compressed_instead_of_the_examples(qtbot, view: CompressionView) -> None:
    import numpy as np
    images = np.random.default_rng(0).integers(0, 256, (3, 1, 28, 28), dtype=np.uint8)
    view.set_images(images, ["a.png", "b.png", "c.png"], "validation images")
    assert view.status.text() == "Ready: 3 validation images."
    run_and_wait(qtbot, view)
    assert view.table.rowCount() == 4 and cell(view.table, 3, "name") == "c.png"
    view.set_images(None)
    assert view.table.rowCount() == 0 and "example images" in view.status.text()
