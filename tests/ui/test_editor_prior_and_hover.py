"""Latent editor: prior runs that end badly give editing back; a class-conditional prior draws the
chosen class; the hover line follows edits made under the pointer. Driven as a user would."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QPushButton, QToolButton

from explorer.core.models.prior import PriorConfig, build_prior
from explorer.ui.editor.panel import LatentEditor
from explorer.ui.state import AppState
from tiny_latent_bundle import K, tiny_editor_bundle
from ui_helpers import show_sized

RAW_ERROR = "embedding(): argument 'indices' (position 1) must be Tensor, not NoneType"


def settle(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel._decode_pending and panel.decoded_view.painted_version
                    == panel.decoded_view.version, timeout=3000)


def conditional_bundle(mnist_root):
    bundle = tiny_editor_bundle(mnist_root)
    torch.manual_seed(1)
    bundle.prior = build_prior(PriorConfig(num_codes=K, channels=16, layers=2, head_channels=16,
                                           num_classes=10)).eval()
    return bundle


def make_editor(qtbot, bundle) -> LatentEditor:
    panel = show_sized(qtbot, LatentEditor(AppState(bundle)), 1200, 500)
    settle(qtbot, panel)
    return panel


@pytest.fixture
def editor(qtbot, mnist_root):
    return make_editor(qtbot, tiny_editor_bundle(mnist_root))


def record_labels(monkeypatch, prior) -> list:
    """Spy on the prior's raster steps: the class each run is conditioned on."""
    seen: list = []
    real = prior.steps

    def steps(*args, **kwargs):
        seen.append(kwargs.get("labels"))
        return real(*args, **kwargs)
    monkeypatch.setattr(prior, "steps", steps)
    return seen


def shift_drag(qtbot, grid, a, b) -> None:
    qtbot.mousePress(grid, Qt.LeftButton, Qt.ShiftModifier, grid.cell_center(*a))
    qtbot.mouseMove(grid, grid.cell_center(*b))
    qtbot.mouseRelease(grid, Qt.LeftButton, Qt.ShiftModifier, grid.cell_center(*b))


def assert_editing_works(qtbot, panel) -> None:
    """Click paints, Shift+drag selects, Space paints, and the decoded image shows the grid itself."""
    g = panel.grid_view
    code = (int(panel.grid.codes[2, 3]) + 5) % K
    panel.state.select_code(code)
    qtbot.mouseClick(g, Qt.LeftButton, Qt.NoModifier, g.cell_center(2, 3))
    assert panel.grid.codes[2, 3] == code, "a click no longer paints"
    shift_drag(qtbot, g, (4, 1), (5, 3))
    assert g.region is not None and (g.region.top, g.region.left, g.region.bottom, g.region.right) == (4, 1, 5, 3)
    space_code = (int(panel.grid.codes[0, 0]) + 3) % K
    panel.state.select_code(space_code)
    g.setFocus()
    qtbot.keyClick(g, Qt.Key_Space)
    assert panel.grid.codes[0, 0] == space_code, "Space no longer paints"
    settle(qtbot, panel)
    np.testing.assert_array_equal(g.codes, panel.grid.codes)          # no half-sampled preview left
    with torch.no_grad():
        expected = panel.state.bundle.vqvae.decode(torch.from_numpy(panel.grid.codes)[None])[0].numpy()
    np.testing.assert_allclose(panel.decoded, expected, atol=1e-5)


def start_animated_sampling(qtbot, panel) -> None:
    animate = panel.findChild(QCheckBox, "animateSampling")
    if not animate.isChecked():
        qtbot.mouseClick(animate, Qt.LeftButton)
    qtbot.mouseClick(panel.findChild(QPushButton, "samplePrior"), Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.grid_view.active_cell is not None, timeout=3000)
    assert panel.stepper.running


# -- item 1: a failed or stopped run never leaves the grid locked ---------------------------
def test_failed_sampling_says_so_in_words_and_gives_editing_back(qtbot, editor, monkeypatch) -> None:
    prior = editor.state.bundle.prior
    real = prior.steps

    def failing(*args, **kwargs):
        for n, step in enumerate(real(*args, **kwargs)):
            if n == 5:
                raise RuntimeError(RAW_ERROR)
            yield step
    monkeypatch.setattr(prior, "steps", failing)
    codes0 = editor.grid.codes.copy()
    qtbot.mouseClick(editor.findChild(QPushButton, "samplePrior"), Qt.LeftButton)
    error = editor.findChild(QLabel, "editorError")
    qtbot.waitUntil(lambda: error.isVisible(), timeout=5000)
    assert "Sampling stopped" in error.text() and "embedding" not in error.text() and "NoneType" not in error.text()
    np.testing.assert_array_equal(editor.grid.codes, codes0)          # the grid is as it was
    assert_editing_works(qtbot, editor)
    # the same after the next image
    qtbot.mouseClick(editor.findChild(QPushButton, "samplePrior"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not editor.stepper.running, timeout=5000)
    qtbot.mouseClick(editor.findChild(QToolButton, "nextImage"), Qt.LeftButton)
    assert_editing_works(qtbot, editor)


@pytest.mark.parametrize("interruption", ["next image", "another bundle", "resample region"])
def test_a_run_stopped_half_way_gives_editing_back(qtbot, editor, mnist_root, interruption) -> None:
    start_animated_sampling(qtbot, editor)
    if interruption == "next image":
        qtbot.mouseClick(editor.findChild(QToolButton, "nextImage"), Qt.LeftButton)
    elif interruption == "another bundle":
        editor.state.set_bundle(tiny_editor_bundle(mnist_root))
    else:                                        # a finished resample after an interrupted sample
        qtbot.mouseClick(editor.findChild(QToolButton, "nextImage"), Qt.LeftButton)
        shift_drag(qtbot, editor.grid_view, (1, 1), (2, 2))
        qtbot.mouseClick(editor.findChild(QPushButton, "resampleRegion"), Qt.LeftButton)
        qtbot.waitUntil(lambda: not editor.stepper.running, timeout=10000)
    assert not editor.stepper.running
    assert editor.grid_view.active_cell is None
    assert_editing_works(qtbot, editor)


# -- item 1: a class-conditional prior samples the chosen class ------------------------------
def test_class_conditional_prior_samples_and_resamples_the_chosen_class(qtbot, mnist_root, monkeypatch) -> None:
    panel = make_editor(qtbot, conditional_bundle(mnist_root))
    chooser = panel.findChild(QComboBox, "priorClass")
    assert chooser is not None and chooser.isVisible() and chooser.accessibleName()
    assert chooser.count() == 10
    seen = record_labels(monkeypatch, panel.state.bundle.prior)
    chooser.setCurrentIndex(chooser.findData(3))
    qtbot.mouseClick(panel.findChild(QPushButton, "samplePrior"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.stepper.running and panel.source.kind == "sample", timeout=10000)
    error = panel.findChild(QLabel, "editorError")
    assert not error.isVisible(), error.text()
    assert [int(x) for x in seen] == [3]
    assert panel.findChild(QLabel, "sourceLabel").text() == "prior sample (class 3)"
    sampled = panel.grid.codes.copy()
    chooser.setCurrentIndex(chooser.findData(7))
    shift_drag(qtbot, panel.grid_view, (2, 2), (4, 5))
    outside = ~panel.grid_view.region.mask(7, 7)
    qtbot.mouseClick(panel.findChild(QPushButton, "resampleRegion"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.stepper.running, timeout=10000)
    assert not error.isVisible(), error.text()
    assert [int(x) for x in seen] == [3, 7]
    np.testing.assert_array_equal(panel.grid.codes[outside], sampled[outside])
    assert_editing_works(qtbot, panel)


def test_the_shipped_class_conditional_bundle_samples_in_the_editor(qtbot) -> None:
    """The issue's path: trained_models/mnist-classes → Latent editor → Sample prior."""
    from pathlib import Path

    from explorer.core.bundle import load_bundle
    path = Path(__file__).resolve().parents[2] / "trained_models" / "mnist-classes"
    if not path.is_dir():
        pytest.skip("trained_models/mnist-classes is not there")
    panel = make_editor(qtbot, load_bundle(path))
    chooser = panel.findChild(QComboBox, "priorClass")
    assert chooser.isVisible() and chooser.count() == 10
    chooser.setCurrentIndex(chooser.findData(7))
    qtbot.mouseClick(panel.findChild(QPushButton, "samplePrior"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not panel.stepper.running and panel.source.kind == "sample", timeout=20000)
    assert not panel.findChild(QLabel, "editorError").isVisible()
    assert_editing_works(qtbot, panel)


def test_class_chooser_only_for_class_conditional_priors(qtbot, editor, mnist_root) -> None:
    chooser = editor.findChild(QComboBox, "priorClass")
    assert not chooser.isVisible()                       # unconditional prior: nothing to choose
    editor.state.set_bundle(conditional_bundle(mnist_root))
    qtbot.waitUntil(lambda: chooser.isVisible())
    assert chooser.count() == 10
    editor.state.set_bundle(tiny_editor_bundle(mnist_root))
    qtbot.waitUntil(lambda: not chooser.isVisible())


@pytest.mark.parametrize("mismatch, words", [(dict(height=5, width=5), ("5×5", "7×7")),
                                             (dict(num_codes=2 * K), (f"0..{2 * K - 1}", f"{K} codes"))])
def test_a_prior_that_does_not_fit_the_model_is_refused_in_words(qtbot, editor, mismatch, words) -> None:
    settings = dict(num_codes=K, channels=16, layers=2, head_channels=16) | mismatch
    editor.state.bundle.prior = build_prior(PriorConfig(**settings)).eval()
    qtbot.mouseClick(editor.findChild(QPushButton, "samplePrior"), Qt.LeftButton)
    error = editor.findChild(QLabel, "editorError")
    qtbot.waitUntil(lambda: error.isVisible(), timeout=5000)
    assert all(w in error.text() for w in words), error.text()
    assert_editing_works(qtbot, editor)


# -- item 8: the hover line follows an edit under the pointer --------------------------------
def hovered_code(panel) -> int:
    match = re.match(r"cell \(2, 3\): code (\d+)\b", panel.findChild(QLabel, "cellInfo").text())
    assert match, panel.findChild(QLabel, "cellInfo").text()
    return int(match.group(1))


def test_hover_line_and_highlight_follow_a_cell_painted_under_the_pointer(qtbot, editor) -> None:
    g = editor.grid_view
    qtbot.mouseMove(g, g.cell_center(2, 3))
    qtbot.waitUntil(lambda: editor.findChild(QLabel, "cellInfo").text().startswith("cell (2, 3)"))
    old = int(editor.grid.codes[2, 3])
    assert hovered_code(editor) == old and g.highlight_code == old
    new = (old + 5) % K
    editor.state.select_code(new)
    qtbot.mouseClick(g, Qt.LeftButton, Qt.NoModifier, g.cell_center(2, 3))       # the pointer stays here
    assert editor.grid.codes[2, 3] == new
    assert hovered_code(editor) == new
    assert g.highlight_code == new                      # the rings mark the cells holding the new code
    g.setFocus()
    qtbot.keyClick(g, Qt.Key_Z, Qt.ControlModifier)     # undo under the pointer: the old code again
    assert hovered_code(editor) == old and g.highlight_code == old
