"""Text read from files (a bundle's name, its dataset settings, file names, error messages) is shown
as the characters it holds, never as markup (issue 22, item 8).

A label in Qt's default AutoText would render ``<img src='PATH'>`` by reading PATH: /dev/zero until
memory runs out, a FIFO forever. The witness here is a FIFO with a writer process that counts every
time someone opens it for reading: the writer also unblocks the reader, so a failing test fails
instead of hanging.
"""
from __future__ import annotations

import os
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QThreadPool, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QPushButton, QToolTip, QWidget

from explorer.ui.widgets.plain_text import escape_markup, literal, plain

from conftest import make_tiny_bundle  # noqa: E402 (tests/ui/conftest.py, on sys.path under pytest)
from ui_helpers import editor as editor_of, type_text

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")


@contextmanager
def fifo_witness(fifo: Path):
    """Yield a function counting how often the app opened ``fifo`` for reading so far."""
    os.mkfifo(fifo)
    log = fifo.with_name(fifo.name + ".log")
    log.write_text("")
    writer = subprocess.Popen(["sh", "-c", 'while :; do echo x > "$1" && echo read >> "$2"; done', "sh",
                               str(fifo), str(log)], start_new_session=True)
    try:
        yield lambda: log.read_text().count("read")
    finally:
        os.killpg(writer.pid, signal.SIGKILL)
        writer.wait()
        fifo.unlink()                    # a later reader gets "no such file", never a hang


def shown_text(label: QLabel) -> str:
    """What a label shows on screen, whatever its text format."""
    if label.textFormat() == Qt.TextFormat.PlainText:
        return label.text()
    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


def assert_nothing_shows_markup_from(window: QWidget, needle: str) -> None:
    """Every label holding ``needle`` shows it as text; no tooltip holds it raw."""
    for label in window.findChildren(QLabel):
        if needle in label.text():
            assert label.textFormat() == Qt.TextFormat.PlainText, (label.objectName(), label.text())
    for widget in window.findChildren(QWidget):
        assert needle not in widget.toolTip(), (widget.objectName(), widget.toolTip())


def visit_every_panel(qtbot, window) -> None:
    for name in window.panels:
        window.show_panel(name)
        qtbot.waitUntil(lambda n=name: window.current_panel() is window.panels[n])
        window.grab()                                  # lay out and paint everything shown
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0, timeout=20000)
    window.grab()


def test_helpers() -> None:
    assert escape_markup("<b>a & b</b>") == "&lt;b&gt;a &amp; b&lt;/b&gt;"
    assert literal("no markup here") == "no markup here"
    doc = QTextDocument()
    doc.setHtml(literal("<img src='x'>  two  spaces"))
    assert doc.toPlainText() == "<img src='x'>  two  spaces"
    label = plain(QLabel())
    assert label.textFormat() == Qt.TextFormat.PlainText


def test_a_bundle_whose_name_and_dataset_are_markup_is_shown_as_text(qtbot, main_window, tmp_path) -> None:
    fifo = tmp_path / "pipe"
    name = f"<img src='{fifo}'>"
    bundle = make_tiny_bundle()
    bundle.name = name
    bundle.data = {**bundle.data, "name": f"folder:<img src='{fifo}'>"}       # its dataset's messages quote it
    bundle.save(tmp_path / "hostile")
    with fifo_witness(fifo) as reads:
        with qtbot.waitSignal(main_window.model_bar.bundle_opened, timeout=30000):
            main_window.model_bar.open_bundle(tmp_path / "hostile")
        visit_every_panel(qtbot, main_window)
        assert reads() == 0, "a widget rendered the bundle's text as markup and read the file it names"
    label = main_window.findChild(QLabel, "modelNameLabel")
    assert shown_text(label).startswith(name)
    assert main_window.windowTitle().startswith(name)
    assert_nothing_shows_markup_from(main_window, "<img")
    # styled text neither grows the bar over the toolbar nor loses its characters; '[*]' stays the name's
    styled = "<b style='font-size:300px'>huge</b>[*]"
    main_window.model_bar.set_unsaved(True)
    bundle.name = styled
    main_window.state.set_bundle(bundle, tmp_path / "styled")
    qtbot.waitUntil(lambda: shown_text(label).startswith(styled))
    assert label.sizeHint().height() < 3 * label.fontMetrics().height()
    assert main_window.windowTitle().startswith(styled)


def test_file_names_in_the_editor_and_in_dialogs_are_text(qtbot, main_window, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)                     # <img src=pipe> in a file name means ./pipe
    editor = main_window.show_panel("latentEditor")
    qtbot.waitUntil(lambda: editor.source is not None)
    with fifo_witness(tmp_path / "pipe") as reads:
        bad = tmp_path / "<img src=pipe>.json"
        bad.write_text("[[1, 2,")
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
        qtbot.mouseClick(editor.findChild(QPushButton, "loadGrid"), Qt.LeftButton)
        error = editor.findChild(QLabel, "editorError")
        assert error.isVisible() and bad.name in shown_text(error)
        good = tmp_path / "<img src=pipe>.npy"
        np.save(good, np.zeros(editor.grid.shape, dtype=np.int64))
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(good), ""))
        qtbot.mouseClick(editor.findChild(QPushButton, "loadGrid"), Qt.LeftButton)
        source = editor.findChild(QLabel, "sourceLabel")
        qtbot.waitUntil(lambda: shown_text(source) == good.name)
        main_window.grab()
        main_window.model_bar.open_bundle(tmp_path / "<img src=pipe>")     # no such bundle: a dialog says so
        qtbot.waitUntil(lambda: main_window.model_bar.error_dialog is not None
                        and main_window.model_bar.error_dialog.isVisible(), timeout=10000)
        box = main_window.model_bar.error_dialog
        assert "<img src=pipe>" in box.text() and box.textFormat() == Qt.TextFormat.PlainText
        box.grab()
        box.done(QMessageBox.StandardButton.Ok)
        train = main_window.show_panel("trainPanel")             # a refused value is quoted in a tooltip
        classes = editor_of(train, "data_classes")
        type_text(qtbot, classes, "<img src=pipe>")
        assert "<img src=pipe>" in classes.property("invalidReason")
        QToolTip.showText(classes.mapToGlobal(classes.rect().center()), classes.toolTip(), classes)
        qtbot.waitUntil(QToolTip.isVisible)
        QToolTip.hideText()
        assert reads() == 0, "a widget rendered a file name as markup and read the file it names"
    assert_nothing_shows_markup_from(main_window, "<img")


def test_plot_texts_named_by_files_are_text(qtbot, app_state, tmp_path) -> None:
    """pyqtgraph legends and titles are always HTML: the bundle's name in the rate-distortion legend
    and an image folder's name in the score histogram's title are escaped."""
    from explorer.ui.likelihood.compression_view import CompressionView
    from explorer.ui.likelihood.score_histogram import ScoreHistogram
    view = CompressionView(app_state)
    histogram = ScoreHistogram()
    for widget in (view, histogram):
        qtbot.addWidget(widget)
    fifo = tmp_path / "pipe"
    name = f"<img src='{fifo}'>"
    with fifo_witness(fifo) as reads:
        view._fill_plot({"jpeg": [], "webp": [], "points": {name: {"bits_per_image": 120.0, "mse": 0.01}}})
        histogram.clear(f"{name}: not available")
        for widget in (view, histogram):
            widget.show()
            widget.grab()
        assert reads() == 0
    assert histogram.plot.getPlotItem().titleLabel.item.toPlainText().startswith(name)
    labels = [label.item.toPlainText() for _, label in view.legend.items]
    assert any(text.startswith(name) for text in labels), labels
