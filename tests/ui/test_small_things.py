"""Small things people notice (issue 14): buttons that stay put, tooltips that say why, a hover
line that describes the grid shown, labelled reconstructions, durations, form words."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from explorer.ui.editor.panel import HOVER_HINT
from explorer.ui.train.history import format_duration, progress_text
from explorer.ui.train.preview_image import ROW_NAMES

from conftest import make_tiny_bundle  # noqa: E402 (tests/ui/conftest.py, on sys.path under pytest)


def editor_of(window):
    return window.show_panel("latentEditor")


def button_positions(bar: QWidget) -> dict[str, tuple[int, int]]:
    return {b.objectName(): (b.mapTo(bar.window(), b.rect().topLeft()).x(), b.width())
            for b in bar.findChildren(QPushButton) + bar.findChildren(QWidget, "nextImage")}


def test_source_buttons_stay_put_when_the_source_changes(qtbot, main_window) -> None:
    """A second click on the same spot hits the same button (it used to open "Load grid…")."""
    editor = editor_of(main_window)
    before = button_positions(editor.source_bar)
    qtbot.mouseClick(editor.source_bar.draw, Qt.MouseButton.LeftButton)     # drawing: Clear becomes available
    assert editor.source_bar.clear.isEnabled()
    main_window.state.open_in_editor(np.zeros((7, 7), np.int64), "a grid with a rather long name " * 3)
    qtbot.waitUntil(lambda: editor.source is not None and editor.source.kind != "drawing")
    assert button_positions(editor.source_bar) == before
    assert not editor.source_bar.clear.isEnabled() and "press Draw" in editor.source_bar.clear.toolTip()


def test_unavailable_controls_say_why(qtbot, main_window) -> None:
    main_window.state.set_bundle(make_tiny_bundle(with_prior=False))
    editor = editor_of(main_window)
    sample = editor.findChild(QPushButton, "samplePrior")
    assert not sample.isEnabled() and "no prior" in sample.toolTip()
    randomise = editor.findChild(QPushButton, "randomiseRegion")
    assert not randomise.isEnabled() and "Select a region" in randomise.toolTip()
    main_window.state.set_bundle(make_tiny_bundle(with_prior=True))
    assert sample.isEnabled() and "no prior" not in sample.toolTip()


def test_hover_line_is_cleared_and_difference_explained_for_a_new_source(qtbot, main_window) -> None:
    editor = editor_of(main_window)
    editor._cell_hovered(3, 3)
    assert editor.cell_info.text().startswith("cell (3, 3)")
    main_window.state.open_in_editor(np.ones((7, 7), np.int64), "loaded grid")
    qtbot.waitUntil(lambda: editor.source.label == "loaded grid")
    assert editor.cell_info.text() == HOVER_HINT
    # nothing to compare (no input image, no edit yet): a message instead of a blank image
    qtbot.waitUntil(lambda: "Nothing to compare" in editor.diff_view._message)
    assert editor.diff_view.image is None
    editor.replace_all(1, 2)                                          # an edit: now there is a difference
    qtbot.waitUntil(lambda: editor.diff_view.image is not None)


def test_reconstruction_rows_are_labelled(qtbot, main_window) -> None:
    preview = main_window.train_panel.plots.preview
    main_window.train_panel.plots.show_model(main_window.state.bundle)
    labels = preview.row_labels()
    assert labels[:2] == list(ROW_NAMES) and len(labels) % 2 == 0


def test_eta_reads_as_a_duration() -> None:
    assert format_duration(17 * 60 + 10) == "17 min" and format_duration(45) == "45 s"
    assert format_duration(3900) == "1 h 05 min" and format_duration(None) == "–"
    assert progress_text({"step": 10, "total_steps": 100, "eta_s": 1020.0}) == "10 / 100 · ETA 17 min"


def test_form_labels_are_words_with_units_and_say_which_setting_applies(qtbot, main_window) -> None:
    panel = main_window.train_panel
    form = panel.form.data_form

    def label_of(name: str) -> QLabel:
        return form.labels[name.split("_", 1)[1]]

    assert label_of("data_limit").text() == "Use at most N images (0 = all)"
    kmeans = panel.findChild(QWidget, "vqvaeModel_kmeans_init")
    assert panel.form.vqvae_model_form.labels["kmeans_init"].text() == "Initialise codes by k-means"
    assert panel.form.vqvae_model_form.labels["kmeans_init"].buddy() is kmeans
    assert "k-means on the first batch" in kmeans.toolTip()             # the field's comment in the source
    holdout, fraction = panel.findChild(QWidget, "data_holdout_last"), panel.findChild(QWidget, "data_val_fraction")
    holdout.setValue(100)
    assert not fraction.isEnabled() and "Not used" in label_of("data_val_fraction").toolTip()
    holdout.setValue(0)
    assert fraction.isEnabled() and "Not used" not in label_of("data_val_fraction").toolTip()


def test_tile_numbers_stay_in_presentation_mode(qtbot, main_window) -> None:
    main_window.set_presentation(True)
    tiles = main_window.show_panel("codebookPanel").tiles
    assert tiles.show_numbers and tiles.number_pixel_size(120) > 12
    main_window.set_presentation(False)
