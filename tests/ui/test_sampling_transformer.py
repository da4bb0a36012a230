"""The Sampling panel with a saved transformer bundle: Step / Step back, Run to end (equal to the
core sampler for the seed), the class combo, and the causal view measuring every earlier cell."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PySide6.QtWidgets import QWidget

from explorer.core.bundle import load_bundle
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.receptive_field import causal_region
from conftest import make_tiny_bundle
from test_sampling_panel import click, expected_grid, make_panel


def transformer_bundle(tmp_path: Path, num_classes: int = 0):
    """The tiny bundle with a random class-conditional transformer prior, saved and loaded back."""
    bundle = make_tiny_bundle()
    torch.manual_seed(3)
    bundle.prior = build_prior(PriorConfig(kind="transformer", num_codes=16, channels=16, layers=2, heads=2,
                                           mlp_ratio=2, num_classes=num_classes)).eval()
    bundle.save(tmp_path / "tf")
    return load_bundle(tmp_path / "tf")


def test_transformer_bundle_runs_to_the_end_and_sees_every_earlier_cell(qtbot, tmp_path) -> None:
    bundle = transformer_bundle(tmp_path, num_classes=10)
    panel = make_panel(qtbot, bundle)
    assert panel.receptive.kind == "transformer"
    for _ in range(25):                                       # step 25 decides position (3, 3)
        click(qtbot, panel, "samplingStep")
    before = panel.current_grid()
    click(qtbot, panel, "samplingStep")
    click(qtbot, panel, "samplingStepBack")
    np.testing.assert_array_equal(panel.current_grid(), before)
    panel.tabs.setCurrentWidget(panel.receptive)
    assert panel.receptive.position == (3, 3)
    h, w = before.shape
    for i, j in [(3, 3), (0, 0), (6, 6), (2, 5)]:
        panel.receptive.show_position(i, j)
        np.testing.assert_array_equal(panel.receptive.measured(), causal_region(h, w, i, j))
        assert "no blind spot" in panel.receptive.note.text()
        assert "causal transformer" in panel.receptive.note.text()
    # the plain PixelCNN beside it (untrained, same grid) still shows its blind spot
    click(qtbot, panel.receptive, "samplingFieldPlain")
    panel.receptive.show_position(3, 3)
    assert "blind to" in panel.receptive.note.text()
    click(qtbot, panel.receptive, "samplingFieldTransformer")
    assert panel.receptive.kind == "transformer"
    # Run to end with a class and a seed gives the core sampler's grid
    panel.findChild(QWidget, "samplingSeed").setValue(77)
    panel.findChild(QWidget, "samplingClass").setCurrentIndex(4)
    click(qtbot, panel, "samplingRunToEnd")
    qtbot.waitUntil(lambda: panel.session.finished, timeout=10_000)
    settings = panel.sampling_settings()
    assert settings["label"] == 4 and settings["seed"] == 77
    grid = panel.current_grid()
    assert (grid >= 0).all()
    np.testing.assert_array_equal(grid, expected_grid(bundle.prior, settings))


def test_class_heads_bundle_runs_to_the_end_unconditionally_and_sees_every_earlier_cell(qtbot, tmp_path) -> None:
    """The mixture of class heads is an unconditional prior: no class to pick, Run to end equals the
    core sampler for the seed, and the causal view measures every earlier cell."""
    bundle = make_tiny_bundle()
    torch.manual_seed(4)
    bundle.prior = build_prior(PriorConfig(kind="transformer", num_codes=16, channels=16, layers=2, heads=2,
                                           mlp_ratio=2, class_heads=10)).eval()
    bundle.prior.set_class_prior(torch.arange(10).repeat_interleave(torch.arange(1, 11)))   # uneven pi
    bundle.save(tmp_path / "heads")
    bundle = load_bundle(tmp_path / "heads")
    panel = make_panel(qtbot, bundle)
    assert not panel.findChild(QWidget, "samplingClass").isEnabled()
    panel.findChild(QWidget, "samplingSeed").setValue(5)
    for _ in range(12):                                       # mid-run: later cells are not drawn yet (-1)
        click(qtbot, panel, "samplingStep")
    partial = torch.from_numpy(panel.session.grids()).clamp(min=0)
    belief = bundle.prior.class_belief(partial, 12)[panel.sampling_settings()["index"]]
    assert f"drawing class {int(belief.argmax())} ({float(belief.max()):.0%})" in panel.status.text()
    click(qtbot, panel, "samplingRunToEnd")
    qtbot.waitUntil(lambda: panel.session.finished, timeout=10_000)
    settings = panel.sampling_settings()
    assert settings["label"] is None
    grid = panel.current_grid()
    np.testing.assert_array_equal(grid, expected_grid(bundle.prior, settings))
    belief = bundle.prior.class_belief(torch.from_numpy(grid)[None], grid.size)[0]        # p(c | the whole grid)
    c = int(belief.argmax())
    assert f"drawing class {c} ({float(belief[c]):.0%})" in panel.status.text()
    panel.tabs.setCurrentWidget(panel.receptive)
    h, w = panel.current_grid().shape
    for i, j in [(0, 0), (3, 3), (6, 6)]:
        panel.receptive.show_position(i, j)
        np.testing.assert_array_equal(panel.receptive.measured(), causal_region(h, w, i, j))
        assert "causal transformer" in panel.receptive.note.text()
