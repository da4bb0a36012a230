"""Latent editor driven as a user: mouse on the grid and canvas, buttons, Ctrl+Z."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QPushButton, QSpinBox, QToolButton

from explorer.core.grid_files import load_grid
from explorer.ui.editor.panel import LatentEditor
from explorer.ui.state import AppState
from tiny_latent_bundle import K, tiny_editor_bundle
from ui_helpers import show_sized


@pytest.fixture
def editor(qtbot, mnist_root):
    state = AppState(tiny_editor_bundle(mnist_root))
    panel = show_sized(qtbot, LatentEditor(state), 1200, 500)
    settle(qtbot, panel)
    return panel


def settle(qtbot, panel) -> None:
    """Wait until the decoded view shows the current grid."""
    qtbot.waitUntil(lambda: not panel._decode_pending and panel.decoded_view.painted_version
                    == panel.decoded_view.version, timeout=3000)


def other_code(panel, i: int, j: int) -> int:
    return (int(panel.grid.codes[i, j]) + 5) % K


def click_cell(qtbot, panel, i, j, button=Qt.LeftButton, modifier=Qt.NoModifier):
    qtbot.mouseClick(panel.grid_view, button, modifier, panel.grid_view.cell_center(i, j))


def drag(qtbot, widget, points, modifier=Qt.NoModifier):
    qtbot.mousePress(widget, Qt.LeftButton, modifier, points[0])
    for p in points[1:]:
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, Qt.LeftButton, modifier, points[-1])


def test_names(editor) -> None:
    assert editor.objectName() == "latentEditor"
    for name in ("latentGrid", "decodedView", "drawCanvas", "undoButton", "redoButton", "editorError",
                 "cellInfo", "replaceAll", "resampleRegion", "randomiseRegion", "loadGrid", "saveGrid"):
        w = editor.findChild(object, name)
        assert w is not None, name
        assert w.accessibleName(), name


def test_paint_changes_one_cell_and_the_decoded_image(qtbot, editor) -> None:
    before_codes = editor.grid.codes.copy()
    before_img = editor.decoded_view.image.copy()
    code = other_code(editor, 2, 3)
    editor.state.select_code(code)
    click_cell(qtbot, editor, 2, 3)
    settle(qtbot, editor)
    changed = np.argwhere(editor.grid.codes != before_codes)
    assert changed.tolist() == [[2, 3]]
    assert editor.grid.codes[2, 3] == code
    np.testing.assert_array_equal(editor.grid_view.codes, editor.grid.codes)
    assert not np.array_equal(editor.decoded_view.image, before_img)


def test_undo_redo_exact_and_one_stroke_is_one_step(qtbot, editor) -> None:
    codes0, img0 = editor.grid.codes.copy(), editor.decoded_view.image.copy()
    editor.state.select_code(other_code(editor, 1, 1))
    g = editor.grid_view
    drag(qtbot, g, [g.cell_center(1, 1), g.cell_center(1, 3), g.cell_center(3, 3)])
    settle(qtbot, editor)
    assert editor.undo_stack.count() == 1
    painted = editor.grid.codes.copy()
    painted_img = editor.decoded_view.image.copy()
    assert {(int(i), int(j)) for i, j in np.argwhere(painted != codes0)} <= \
        {(1, 1), (1, 2), (1, 3), (2, 3), (3, 3)}
    assert (painted != codes0).sum() >= 3
    g.setFocus()
    qtbot.keyClick(g, Qt.Key_Z, Qt.ControlModifier)
    settle(qtbot, editor)
    np.testing.assert_array_equal(editor.grid.codes, codes0)
    np.testing.assert_array_equal(editor.decoded_view.image, img0)
    qtbot.keyClick(g, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    settle(qtbot, editor)
    np.testing.assert_array_equal(editor.grid.codes, painted)
    np.testing.assert_array_equal(editor.decoded_view.image, painted_img)
    undo = editor.findChild(QPushButton, "undoButton")
    qtbot.mouseClick(undo, Qt.LeftButton)
    settle(qtbot, editor)
    np.testing.assert_array_equal(editor.grid.codes, codes0)
    qtbot.mouseClick(editor.findChild(QPushButton, "redoButton"), Qt.LeftButton)
    np.testing.assert_array_equal(editor.grid.codes, painted)


def test_eyedropper_picks_code_for_painting(qtbot, editor) -> None:
    picked = int(editor.grid.codes[0, 6])
    click_cell(qtbot, editor, 0, 6, Qt.RightButton)
    assert editor.state.selected_code == picked
    assert editor.findChild(QSpinBox, "paintCode").value() == picked


def test_replace_all_touches_only_that_code(qtbot, editor) -> None:
    codes0 = editor.grid.codes.copy()
    a = int(codes0[0, 0])
    b = (a + 1) % K
    editor.findChild(QSpinBox, "replaceFrom").setValue(a)
    editor.findChild(QSpinBox, "replaceTo").setValue(b)
    qtbot.mouseClick(editor.findChild(QPushButton, "replaceAll"), Qt.LeftButton)
    np.testing.assert_array_equal(editor.grid.codes[codes0 != a], codes0[codes0 != a])
    assert (editor.grid.codes[codes0 == a] == b).all()
    assert editor.undo_stack.count() == 1


def test_resample_region_with_prior_keeps_other_cells(qtbot, editor) -> None:
    codes0 = editor.grid.codes.copy()
    g = editor.grid_view
    drag(qtbot, g, [g.cell_center(2, 1), g.cell_center(4, 4)], Qt.ShiftModifier)
    assert (g.region.top, g.region.left, g.region.bottom, g.region.right) == (2, 1, 4, 4)
    np.testing.assert_array_equal(editor.grid.codes, codes0)      # shift-drag selects, never paints
    qtbot.mouseClick(editor.findChild(QPushButton, "resampleRegion"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not editor.stepper.running, timeout=5000)
    outside = ~g.region.mask(7, 7)
    np.testing.assert_array_equal(editor.grid.codes[outside], codes0[outside])
    if (editor.grid.codes != codes0).any():
        assert editor.undo_stack.count() == 1
        editor.undo_stack.undo()
        np.testing.assert_array_equal(editor.grid.codes, codes0)


def test_randomise_region(qtbot, editor) -> None:
    codes0 = editor.grid.codes.copy()
    g = editor.grid_view
    qtbot.mouseClick(editor.findChild(QPushButton, "selectTool"), Qt.LeftButton)
    drag(qtbot, g, [g.cell_center(5, 5), g.cell_center(6, 6)])
    qtbot.mouseClick(editor.findChild(QPushButton, "randomiseRegion"), Qt.LeftButton)
    outside = ~g.region.mask(7, 7)
    np.testing.assert_array_equal(editor.grid.codes[outside], codes0[outside])


def test_drawing_produces_a_grid_and_decoded_image(qtbot, editor) -> None:
    qtbot.mouseClick(editor.findChild(QPushButton, "drawMode"), Qt.LeftButton)
    settle(qtbot, editor)
    blank_codes = editor.grid.codes.copy()
    blank_img = editor.decoded_view.image.copy()
    c = editor.canvas
    drag(qtbot, c, [c.widget_point(x, y) for x, y in ((14, 4), (14, 10), (14, 16), (14, 23))])
    settle(qtbot, editor)
    assert c.canvas.max() > 0.9 and c.canvas[:, :8].max() == 0
    assert editor.source.kind == "drawing"
    assert not np.array_equal(editor.grid.codes, blank_codes)
    assert not np.array_equal(editor.decoded_view.image, blank_img)
    assert editor.source.distances is not None      # a drawing is encoded: it has z_e


def test_hover_reports_distances_or_their_absence(qtbot, editor) -> None:
    qtbot.mouseMove(editor.grid_view, editor.grid_view.cell_center(3, 2))
    qtbot.waitUntil(lambda: "nearest code" in editor.findChild(QLabel, "cellInfo").text())
    assert editor.decoded_view.outlines            # the influence rectangle is drawn
    editor.findChild(QPushButton, "samplePrior").click()
    qtbot.waitUntil(lambda: not editor.stepper.running and editor.source.kind == "sample", timeout=5000)
    qtbot.mouseMove(editor.grid_view, editor.grid_view.cell_center(1, 1))
    qtbot.mouseMove(editor.grid_view, editor.grid_view.cell_center(3, 3))
    assert "no encoder output" in editor.findChild(QLabel, "cellInfo").text()


def test_loading_out_of_range_grid_shows_error_and_keeps_grid(qtbot, editor, tmp_path, monkeypatch) -> None:
    bad = tmp_path / "bad.npy"
    np.save(bad, np.full((7, 7), K, dtype=np.int64))
    codes0 = editor.grid.codes.copy()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    qtbot.mouseClick(editor.findChild(QPushButton, "loadGrid"), Qt.LeftButton)
    error = editor.findChild(QLabel, "editorError")
    assert error.isVisible() and "K = 16" in error.text()
    np.testing.assert_array_equal(editor.grid.codes, codes0)
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("[[1, 2,")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(corrupt), ""))
    qtbot.mouseClick(editor.findChild(QPushButton, "loadGrid"), Qt.LeftButton)
    assert error.isVisible() and "corrupt.json" in error.text()
    np.testing.assert_array_equal(editor.grid.codes, codes0)


@pytest.mark.parametrize("suffix", [".npy", ".json"])
def test_save_and_reload_grid(qtbot, editor, tmp_path, monkeypatch, suffix) -> None:
    editor.state.select_code(other_code(editor, 0, 0))
    click_cell(qtbot, editor, 0, 0)
    edited = editor.grid.codes.copy()
    path = tmp_path / f"grid{suffix}"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    qtbot.mouseClick(editor.findChild(QPushButton, "saveGrid"), Qt.LeftButton)
    assert path.is_file()
    np.testing.assert_array_equal(load_grid(path, K, (7, 7)), edited)
    if suffix == ".json":
        assert json.loads(path.read_text())["num_codes"] == K
    qtbot.mouseClick(editor.findChild(QToolButton, "nextImage"), Qt.LeftButton)
    assert not np.array_equal(editor.grid.codes, edited)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    qtbot.mouseClick(editor.findChild(QPushButton, "loadGrid"), Qt.LeftButton)
    np.testing.assert_array_equal(editor.grid.codes, edited)
    assert not editor.findChild(QLabel, "editorError").isVisible()


def test_source_switch_is_undoable_and_keeps_edits(qtbot, editor) -> None:
    editor.state.select_code(other_code(editor, 4, 4))
    click_cell(qtbot, editor, 4, 4)
    edited = editor.grid.codes.copy()
    qtbot.mouseClick(editor.findChild(QToolButton, "nextImage"), Qt.LeftButton)
    assert editor.source.label.startswith("image 1")
    editor.undo_stack.undo()
    np.testing.assert_array_equal(editor.grid.codes, edited)
    assert editor.source.label.startswith("image 0")


def test_weights_updated_redecodes(qtbot, editor) -> None:
    img0 = editor.decoded_view.image.copy()
    with torch.no_grad():
        editor.state.bundle.vqvae.decoder.net[-1].bias.add_(0.2)
    editor.state.weights_updated.emit("vqvae")
    settle(qtbot, editor)
    assert not np.array_equal(editor.decoded_view.image, img0)


def test_browse_by_class_and_validation_set(qtbot, mnist_root) -> None:
    bundle = tiny_editor_bundle(mnist_root)
    bundle.data = {"name": "mnist", "root": str(mnist_root), "holdout_last": 1000}
    panel = LatentEditor(AppState(bundle))
    qtbot.addWidget(panel)
    panel.show()
    classes = panel.findChild(QComboBox, "sourceClass")
    labels = bundle.examples.labels.numpy()
    wanted = int(labels[3])
    classes.setCurrentIndex(classes.findData(wanted))
    for _ in range(3):
        qtbot.mouseClick(panel.findChild(QToolButton, "nextImage"), Qt.LeftButton)
        assert int(labels[panel.browser.index]) == wanted
        assert panel.source.label.endswith(f"(class {wanted})")
    dataset = panel.findChild(QComboBox, "sourceDataset")
    qtbot.waitUntil(lambda: dataset.findData("validation") >= 0, timeout=20000)
    dataset.setCurrentIndex(dataset.findData("validation"))
    assert len(panel._images) == 1000
    assert panel.source.kind == "image" and panel.source.distances is not None


def test_weights_updated_while_hidden_decodes_only_when_shown(qtbot, editor, monkeypatch) -> None:
    img0 = editor.decoded_view.image.copy()
    decodes: list[int] = []
    vqvae = editor.state.bundle.vqvae
    original_decode = vqvae.decode
    monkeypatch.setattr(vqvae, "decode", lambda *a, **k: decodes.append(1) or original_decode(*a, **k))
    editor.hide()
    with torch.no_grad():
        vqvae.decoder.net[-1].bias.add_(0.2)
    for _ in range(3):
        editor.state.weights_updated.emit("vqvae")
    qtbot.wait(50)
    assert decodes == []                              # hidden: nothing decoded yet
    editor.show()
    qtbot.waitUntil(lambda: len(decodes) > 0, timeout=3000)
    settle(qtbot, editor)
    assert len(decodes) == 1
    with torch.no_grad():
        expected = original_decode(torch.from_numpy(editor.grid.codes)[None])[0].numpy()
    np.testing.assert_allclose(editor.decoded, expected, atol=1e-6)
    assert not np.array_equal(editor.decoded_view.image, img0)


def test_bundle_changed_measures_influence_lazily_off_the_gui_thread(qtbot, editor, monkeypatch) -> None:
    import threading

    from explorer.ui.editor import influence_loader
    calls: list[threading.Thread] = []
    real = influence_loader.measure_influence
    monkeypatch.setattr(influence_loader, "measure_influence",
                        lambda model: calls.append(threading.current_thread()) or real(model))
    monkeypatch.setattr(influence_loader, "_CACHE", {})
    editor.state.bundle_changed.emit()
    settle(qtbot, editor)
    assert calls == [] and editor.influence is None   # nothing measured on a new model
    qtbot.mouseMove(editor.grid_view, editor.grid_view.cell_center(3, 2))
    qtbot.waitUntil(lambda: "nearest code" in editor.findChild(QLabel, "cellInfo").text())
    assert editor.decoded_view.outlines               # the cell's own patch until measured
    qtbot.waitUntil(lambda: editor.influence is not None, timeout=5000)
    assert len(calls) == 1 and calls[0] is not threading.main_thread()
    top, left, bottom, right = editor.influence.rect(3, 2)
    assert bottom - top > editor.influence.factor and right - left > editor.influence.factor


def test_bundle_changed_while_hidden_rebuilds_when_shown(qtbot, editor, monkeypatch) -> None:
    rebuilds: list[int] = []
    original = editor._rebuild
    monkeypatch.setattr(editor, "_rebuild", lambda: rebuilds.append(1) or original())
    editor.hide()
    editor.state.bundle_changed.emit()
    assert rebuilds == []                             # no encoding while hidden
    editor.show()
    assert rebuilds == [1]
    settle(qtbot, editor)
    assert editor.source is not None and editor.decoded is not None


def test_another_panel_opens_a_grid_in_the_editor_as_one_undo_step(qtbot, main_window) -> None:
    """AppState.open_in_editor (used by the Sampling and Likelihood panels) shows the grid, switches
    to the editor, and one Undo goes back to what was there."""
    editor = main_window.show_panel("latentEditor")
    cfg = main_window.state.bundle.vqvae.config
    qtbot.waitUntil(lambda: editor.grid.codes.shape == (cfg.grid_size, cfg.grid_size))
    main_window.show_panel("trainPanel")
    before = editor.grid.codes.copy()
    k = cfg.num_codes
    grid = (np.arange(before.size).reshape(before.shape) % k).astype(np.int64)
    main_window.state.open_in_editor(grid, "sample 3 (seed 0)")
    assert main_window.current_panel() is editor
    np.testing.assert_array_equal(editor.grid.codes, grid)
    assert editor.findChild(QLabel, "sourceLabel").text() == "sample 3 (seed 0)"
    editor.undo_stack.undo()
    np.testing.assert_array_equal(editor.grid.codes, before)
    main_window.state.open_in_editor(np.zeros((2, 2), dtype=np.int64), "wrong size")
    np.testing.assert_array_equal(editor.grid.codes, before)        # refused with a message, nothing lost


def test_each_failed_grid_load_shows_its_own_message(qtbot, editor, tmp_path, monkeypatch) -> None:
    """A FIFO (which once hung the GUI), a .npy claiming a huge shape (once a MemoryError) and bad
    JSON each replace the error line with their own message; a good file then clears it."""
    import os
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.npy"
    header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    header += " " * (64 - (len(header) + 11) % 64) + "\n"
    huge.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    good = tmp_path / "good.npy"
    np.save(good, np.zeros((7, 7), dtype=np.int64))
    codes0 = editor.grid.codes.copy()
    error = editor.findChild(QLabel, "editorError")
    seen = []
    for path, needle in ((fifo, "regular file"), (huge, "larger"), (deep, "deeply"), (fifo, "regular file")):
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, p=path, **k: (str(p), ""))
        qtbot.mouseClick(editor.findChild(QPushButton, "loadGrid"), Qt.LeftButton)
        assert error.isVisible() and path.name in error.text() and needle in error.text(), error.text()
        assert error.text() not in seen[-1:]                 # the new message, not the previous one
        seen.append(error.text())
        np.testing.assert_array_equal(editor.grid.codes, codes0)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(good), ""))
    qtbot.mouseClick(editor.findChild(QPushButton, "loadGrid"), Qt.LeftButton)
    assert not error.isVisible() and (editor.grid.codes == 0).all()
