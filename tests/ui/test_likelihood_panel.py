"""Likelihood panel, driven like a user: the heatmap of one image, the threshold rates, the gallery → editor."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QListWidget, QSlider, QWidget

from explorer.core.anomaly import image_likelihood
from explorer.core.data import ImageSet
from explorer.ui.likelihood.panel import LikelihoodPanel
from explorer.ui.state import AppState
from ui_helpers import show_sized


@pytest.fixture
def tiny_bundle(tiny_bundle, monkeypatch, tmp_path):
    """The tiny bundle as a "digits 1-4" prior: labelled examples, no dataset files, no shipped background."""
    monkeypatch.setenv("DLE_TRAINED_MODELS", str(tmp_path / "no_models"))
    g = torch.Generator().manual_seed(0)
    n = 40
    images = (torch.rand(n, 1, 28, 28, generator=g) ** 4 * 255).to(torch.uint8)
    tiny_bundle.examples = ImageSet(images, torch.arange(n) % 10)           # 4 of each digit
    tiny_bundle.history = {"prior": {"data": {"classes": [1, 2, 3, 4]}}}
    tiny_bundle.data = {}                                                    # the examples are the held-out set
    return tiny_bundle


def _panel(qtbot, bundle) -> LikelihoodPanel:
    panel = LikelihoodPanel(AppState(bundle))
    show_sized(qtbot, panel, 1280, 760)
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.anomaly.roc.auc is not None, timeout=20_000)
    return panel


def _percentages(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"([\d.]+) %", text)]


def test_heatmap_and_score_show_the_example_image(qtbot, tiny_bundle) -> None:
    panel = _panel(qtbot, tiny_bundle)
    heatmap = panel.findChild(QWidget, "likelihoodHeatmap")
    score = panel.findChild(QLabel, "likelihoodScore")
    assert heatmap.image is not None and heatmap.image.shape == (28, 28, 3)
    expected = image_likelihood(tiny_bundle.vqvae, tiny_bundle.prior, tiny_bundle.examples.images[0])
    assert f"−{expected.nll:.2f} nats" in score.text() and f"−{expected.bits:.1f} bits" in score.text()
    first = heatmap.image.copy()
    qtbot.mouseClick(panel.findChild(QWidget, "likelihoodNext"), Qt.LeftButton)
    second = image_likelihood(tiny_bundle.vqvae, tiny_bundle.prior, tiny_bundle.examples.images[1])
    assert f"−{second.nll:.2f} nats" in score.text()
    assert not np.array_equal(first, heatmap.image)
    assert panel.findChild(QWidget, "likelihoodImage").caption.startswith("example 2/40")


def test_a_prior_with_class_heads_says_which_class_it_reads(qtbot, tiny_bundle) -> None:
    from explorer.core.models.prior import PriorConfig, build_prior
    torch.manual_seed(2)
    tiny_bundle.prior = build_prior(PriorConfig(kind="transformer", num_codes=tiny_bundle.vqvae.config.num_codes,
                                                channels=16, layers=1, heads=2, mlp_ratio=2, class_heads=10)).eval()
    panel = _panel(qtbot, tiny_bundle)
    expected = image_likelihood(tiny_bundle.vqvae, tiny_bundle.prior, tiny_bundle.examples.images[0])
    best = int(expected.head_posterior.argmax())
    text = panel.findChild(QLabel, "likelihoodScore").text()
    assert f"−{expected.nll:.2f} nats" in text
    assert f"its class heads read class {best} (p(c | z) = {expected.head_posterior[best]:.2f})" in text.replace("\u00a0", " ")


def test_drawing_is_scored_as_it_is_drawn(qtbot, tiny_bundle) -> None:
    panel = _panel(qtbot, tiny_bundle)
    source = panel.findChild(QComboBox, "likelihoodSource")
    source.setCurrentIndex(source.findData("draw"))
    canvas = panel.findChild(QWidget, "likelihoodCanvas")
    assert canvas.isVisible()
    before = panel.single.result.nll
    qtbot.mousePress(canvas, Qt.LeftButton, pos=canvas.widget_point(10, 6))
    qtbot.mouseMove(canvas, canvas.widget_point(14, 20))
    qtbot.mouseRelease(canvas, Qt.LeftButton, pos=canvas.widget_point(14, 20))
    qtbot.waitUntil(lambda: panel.single.result.nll != before)
    assert "your drawing" == panel.findChild(QWidget, "likelihoodSourceLabel").text()


def test_moving_the_threshold_changes_the_rates(qtbot, tiny_bundle) -> None:
    panel = _panel(qtbot, tiny_bundle)
    slider = panel.findChild(QSlider, "anomalyThreshold")
    rates = panel.findChild(QLabel, "anomalyRates")
    assert panel.findChild(QComboBox, "anomalyInSet").currentText() == "held-out 1–4"
    assert panel.findChild(QComboBox, "anomalyOutSet").currentText() == "held-out 5s"
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key_Home)                  # lowest threshold: every image is flagged
    assert _percentages(rates.text()) == [100.0, 100.0]
    low_line = panel.anomaly.histogram.line.value()
    qtbot.keyClick(slider, Qt.Key_End)                   # highest: only the top score is flagged
    tpr, fpr = _percentages(rates.text())
    assert tpr + fpr < 200.0 and (tpr, fpr) != (100.0, 100.0)
    assert panel.anomaly.histogram.line.value() > low_line
    s_in, s_out = panel.anomaly.threshold.scores_in, panel.anomaly.threshold.scores_out
    assert (len(s_in), len(s_out)) == (16, 4)            # digits 1-4 and the 5s among 40 examples
    plot_item = panel.anomaly.histogram.plot.getPlotItem()
    assert plot_item.titleLabel.item.toPlainText() == "■ 16 normal vs ■ 4 anomalous"   # the title names the sets
    assert plot_item.legend is None                      # (a legend covered the bars in presentation mode)
    t = panel.anomaly.threshold.threshold()
    assert tpr == pytest.approx(100 * np.mean(s_out >= t), abs=0.05)
    assert fpr == pytest.approx(100 * np.mean(s_in >= t), abs=0.05)


def test_switching_the_score_redraws_with_its_auc_in_the_table(qtbot, tiny_bundle) -> None:
    panel = _panel(qtbot, tiny_bundle)
    kind = panel.findChild(QComboBox, "anomalyScoreKind")
    table = panel.anomaly.table
    kind.setCurrentIndex(kind.findData("complexity"))
    assert panel.anomaly.roc.auc == pytest.approx(float(table.auc_text("complexity")), abs=6e-4)
    kind.setCurrentIndex(kind.findData("ratio"))            # no background prior: said plainly
    assert table.auc_text("ratio") == "—" and "background" in panel.findChild(QLabel, "anomalyStatus").text()


def test_a_click_in_the_least_likely_gallery_opens_it_in_the_editor(qtbot, main_window) -> None:
    panel = main_window.show_panel("likelihoodPanel")
    gallery = panel.findChild(QListWidget, "anomalyLeastLikely")
    qtbot.waitUntil(lambda: not panel.is_busy() and gallery.count() > 0, timeout=20_000)
    key, j = panel.anomaly._gallery_rows[0]
    scored = panel.anomaly._scored[key]
    pair = [panel.anomaly._scored[k] for k in panel.anomaly.picker.keys()]        # the sets on show
    assert scored.scores["nll"][j] == max(max(s.scores["nll"]) for s in pair)
    rect = gallery.visualItemRect(gallery.item(0))
    qtbot.mouseClick(gallery.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: main_window.current_panel().objectName() == "latentEditor")
    editor = main_window.current_panel()
    assert np.array_equal(editor.grid.codes, scored.codes[j])
    assert editor.source_bar.label.text().startswith(scored.subset.names[j])
    assert math.isclose(float(editor.source.image.max()), scored.subset.images[j].max() / 255.0, rel_tol=1e-6)


def test_shift_averaging_rescores_the_sets_in_the_worker(qtbot, tiny_bundle) -> None:
    from explorer.core.anomaly import score_images
    panel = _panel(qtbot, tiny_bundle)
    box = panel.findChild(QWidget, "anomalyShiftAverage")
    qtbot.mouseClick(box, Qt.LeftButton)
    assert box.isChecked()
    qtbot.waitUntil(lambda: not panel.is_busy() and "in" in panel.anomaly._scored, timeout=20_000)
    scored = panel.anomaly._scored["in"]
    expected = score_images(tiny_bundle.vqvae, tiny_bundle.prior, scored.subset.images, shifts=1).scores["nll"]
    np.testing.assert_allclose(scored.scores["nll"], expected, rtol=1e-6)
    assert "±1 px" in panel.findChild(QLabel, "anomalyStatus").text()


def test_an_image_folder_as_the_anomalous_set_and_a_missing_dataset_said_plainly(qtbot, tiny_bundle, tmp_path):
    from PIL import Image
    folder = tmp_path / "odd"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(np.full((28, 28), 40 * i, dtype=np.uint8)).save(folder / f"flat{i}.png")
    panel = _panel(qtbot, tiny_bundle)
    out_set = panel.findChild(QComboBox, "anomalyOutSet")
    out_set.setCurrentIndex(out_set.findData("dataset:fashion-mnist"))       # no files anywhere here
    status = panel.findChild(QLabel, "anomalyStatus")
    qtbot.waitUntil(lambda: "Could not score Fashion-MNIST" in status.text(), timeout=20_000)
    assert "Traceback" not in status.text() and len(status.text().splitlines()) == 1
    panel.anomaly.choose_folder(str(folder))                                 # what "Image folder…" does
    qtbot.waitUntil(lambda: not panel.is_busy() and "folder" in panel.anomaly._scored, timeout=20_000)
    assert out_set.currentData() == "folder"
    assert panel.anomaly.threshold.scores_out.shape == (5,)
    assert panel.anomaly._scored["folder"].subset.names == [f"flat{i}.png" for i in range(5)]
    assert panel.anomaly.roc.auc is not None


def test_an_empty_set_is_said_plainly(qtbot, tiny_bundle) -> None:
    tiny_bundle.examples = ImageSet(tiny_bundle.examples.images, torch.full((40,), 7))   # no 1-4 at all
    panel = LikelihoodPanel(AppState(tiny_bundle))
    show_sized(qtbot, panel, 1280, 760)
    status = panel.findChild(QLabel, "anomalyStatus")
    qtbot.waitUntil(lambda: not panel.is_busy() and "No images in held-out 1–4" in status.text(), timeout=20_000)
    assert panel.anomaly.roc.auc is None


def _table_ready(panel) -> bool:
    table = panel.anomaly.table.table
    return not panel.is_busy() and table is not None and any(c.far for c in table.columns) \
        and all(table.get(k, c.key) is not None for k in ("nll", "complexity", "combined") for c in table.columns)


def test_every_score_is_measured_on_far_sets_and_the_advice_is_computed(qtbot, tiny_bundle) -> None:
    from explorer.core.anomaly import auroc
    from explorer.core.anomaly_report import advice_lines
    from explorer.core.far_sets import FAR_KINDS
    panel = _panel(qtbot, tiny_bundle)
    qtbot.waitUntil(lambda: _table_ready(panel), timeout=60_000)
    view, table = panel.anomaly, panel.findChild(QWidget, "anomalyAucTable")
    keys = [c.key for c in table.table.columns]
    assert keys[:2] == ["class:5", "others"] and keys[2:] == [f"far:{k}" for k in FAR_KINDS]
    normal, blank = view._scored["in"], view._scored["far:blank"]
    assert blank.subset.images.shape[1:] == (1, 28, 28) and blank.subset.images.max() < 25
    for kind in ("nll", "complexity", "combined"):             # each cell is the AUROC of that score on that set
        expected = auroc(normal.scores[kind], blank.scores[kind])
        assert float(table.auc_text(kind, "far:blank")) == pytest.approx(expected, abs=6e-4)
    row = keys.index("far:blank")
    assert table.item(row, 0).text() == "far: blank images"
    advice = panel.findChild(QLabel, "anomalyAdvice")
    computed = advice_lines(table.table)
    assert advice.text().startswith(computed[0]) and advice.text().endswith("\n".join(computed[1:]))
    assert advice.text().startswith("Recommended: ")
    # a far set chosen as the anomalous set is drawn like any other
    out_set = panel.findChild(QComboBox, "anomalyOutSet")
    out_set.setCurrentIndex(out_set.findData("far:uniform-noise"))
    qtbot.waitUntil(lambda: panel.anomaly.threshold.scores_out.shape == (200,), timeout=20_000)
    kind = panel.findChild(QComboBox, "anomalyScoreKind")
    kind.setCurrentIndex(kind.findData("combined"))
    noise = view._scored["far:uniform-noise"]
    assert panel.anomaly.roc.auc == pytest.approx(auroc(normal.scores["combined"], noise.scores["combined"]))


def test_a_far_failure_gets_a_warning_line(qtbot, tiny_bundle, monkeypatch) -> None:
    """The warning is computed from the table: force one score below 0.7 on a far set and it is named."""
    from explorer.ui.likelihood import set_scorer
    real = set_scorer.load_and_score

    def blank_looks_normal(vqvae, prior, background, source, shifts=0, compressor="adaptive-codes"):
        result = real(vqvae, prior, background, source, shifts, compressor)
        if isinstance(source, tuple) and source[:2] == ("far", "blank"):
            result.scores["complexity"] = np.full(len(result.subset.images), -1e6)    # lower than any normal
        return result
    monkeypatch.setattr(set_scorer, "load_and_score", blank_looks_normal)
    panel = _panel(qtbot, tiny_bundle)
    qtbot.waitUntil(lambda: _table_ready(panel), timeout=60_000)
    advice = panel.findChild(QLabel, "anomalyAdvice").text()
    assert "⚠ Fails on far inputs" in advice
    assert re.search(r"complexity-corrected \([^)]*blank images 0\.00", advice), advice
    assert panel.anomaly.table.auc_text("complexity", "far:blank") == "0.000"


@pytest.fixture
def conditional_bundle(tiny_bundle):
    """The tiny bundle with a class-conditional prior over all ten digits (like trained_models/mnist-classes)."""
    from explorer.core.models.prior import PriorConfig, build_prior
    config = tiny_bundle.prior.config.to_dict()
    config.update(kind="gated", num_classes=10)
    torch.manual_seed(1)
    tiny_bundle.prior = build_prior(PriorConfig.from_dict(config)).eval()
    tiny_bundle.history = {}
    return tiny_bundle


def test_a_class_conditional_prior_fills_the_panel_and_says_which_likelihood(qtbot, conditional_bundle) -> None:
    """Regression (issue 20): with mnist-classes the tab printed "pass labels" and stayed blank."""
    panel = LikelihoodPanel(AppState(conditional_bundle))
    show_sized(qtbot, panel, 1280, 760)
    score = panel.findChild(QLabel, "likelihoodScore")
    label = int(conditional_bundle.examples.labels[0])
    assert f"log p(z | c={label})" in score.text() and "class-marginalised" in score.text()
    expected = image_likelihood(conditional_bundle.vqvae, conditional_bundle.prior,
                                conditional_bundle.examples.images[0], label=label)
    assert f"−{expected.class_nll[label]:.2f} nats" in score.text()
    source = panel.findChild(QComboBox, "likelihoodSource")
    source.setCurrentIndex(source.findData("draw"))
    assert score.text().startswith("No label for this image: <b>class-marginalised")
    kind = panel.findChild(QComboBox, "anomalyScoreKind")
    assert kind.findData("nll-label") >= 0
    qtbot.waitUntil(lambda: not panel.is_busy() and "in" in panel.anomaly._scored
                    and "far:letters" in panel.anomaly._scored, timeout=60_000)
    assert panel.anomaly.picker.keys() == ("in", "far:letters")       # no near set: all digits vs letters
    assert panel.anomaly.roc.auc is not None
    status = panel.findChild(QLabel, "anomalyStatus")
    assert "class-marginalised" in status.text() and "Traceback" not in status.text()
    kind.setCurrentIndex(kind.findData("nll-label"))                 # far sets have no labels: said plainly
    assert "has no labels" in status.text() and panel.anomaly.roc.auc is None
    compression = panel.compression                                  # the examples' labels code them
    run = compression.findChild(QWidget, "compressionRun")
    assert run.isEnabled()
    qtbot.mouseClick(run, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: compression.table.rowCount() > 0, timeout=60_000)
    text = compression.findChild(QLabel, "compressionStatus").text()
    assert "Error" not in text and "Traceback" not in text


def test_the_one_image_line_shows_the_combined_score_fitted_on_the_normal_set(qtbot, tiny_bundle) -> None:
    from explorer.core.combined_score import fit_combined
    panel = _panel(qtbot, tiny_bundle)
    qtbot.waitUntil(lambda: panel.single.combined is not None, timeout=20_000)
    normal = panel.anomaly._scored["in"]
    fit = fit_combined({k: v for k, v in normal.scores.items() if k != "combined"})
    r = panel.single.result
    expected = fit.score({p: np.array([r.scores[p]]) for p in fit.parts})[0]
    assert f"combined {expected:.2f} (fitted on the normal set)" in panel.findChild(QLabel, "likelihoodScore").text()


def test_auroc_table_headers_fit_their_text_after_the_font_grows(qtbot) -> None:
    """Presentation mode enlarges the window's font: every header section, the bold one included, must
    grow with it (a header item's own font sizes its section; an application-sized one clipped it)."""
    from PySide6.QtGui import QFontMetrics
    from explorer.core.anomaly_report import AurocTable
    from explorer.ui.likelihood.auc_table import AucTable
    table = AucTable()
    qtbot.addWidget(table)
    table.set_table(AurocTable(["nll", "ratio", "complexity", "combined"], []), "ratio")
    table.show()
    font = table.font()
    font.setPointSizeF(font.pointSizeF() * 1.6)                  # presentation.FONT_SCALE
    table.setFont(font)
    header = table.horizontalHeader()
    for section in range(1, table.columnCount()):
        item = table.horizontalHeaderItem(section)
        assert item.font().pointSizeF() == pytest.approx(header.font().pointSizeF())
        assert header.sectionSize(section) >= QFontMetrics(item.font()).horizontalAdvance(item.text()), item.text()
    assert table.horizontalHeaderItem(2).font().bold() and not table.horizontalHeaderItem(1).font().bold()
