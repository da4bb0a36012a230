"""Anomaly detection over datasets: normal vs anomalous scores, threshold rates, ROC, AUCs, least likely images.

Normal = held-out images of the classes the prior was trained on; anomalous = other held-out
classes (near), inputs that look like no digit (far: noise, blank, letters, ...; explorer.core.
far_sets), another dataset, or a folder. Every set is scored off the GUI thread (every score at
once, so switching the score is instant); the plots follow the chosen score, and the AUROC table
shows every score on every near and far set with the advice computed from it
(explorer.core.anomaly_report).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QLabel, QScrollArea, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from explorer.core.anomaly import SCORE_UNITS, least_likely, roc_curve
from explorer.core.anomaly_report import GOOD_AUROC, Column, add_combined, advice_lines, auroc_table, recommended
from explorer.core.anomaly_sets import ImageSubset, class_sets, prior_classes
from explorer.core.class_likelihood import MARGINAL_NOTE, is_conditional
from explorer.core.combined_score import fit_combined
from explorer.core.data import DATASETS, ImageSet, usable_root
from explorer.core.far_sets import FAR_KINDS, FAR_TITLES, FASHION, fashion_present

from ..state import AppState
from ..widgets.naming import named
from .auc_table import AucTable
from .least_likely import GALLERY_SIZE, LeastLikelyGallery
from .roc_plot import RocPlot
from .score_histogram import ScoreHistogram
from .set_picker import UNCONDITIONAL_KINDS, SetPicker
from .set_scorer import ScoredSet, SetScorer
from .threshold_control import ThresholdControl
from ..widgets.plain_text import literal, plain

OTHER_DATASETS = ("fashion-mnist", "kmnist")     # offered as anomalous sets when the bundle's data is MNIST-like
REFRESH_MS = 2000                                 # new training weights rescore the sets at most this often


class AnomalyView(QWidget):
    combined_fitted = Signal(object)     # CombinedScore fitted on the normal set (None: none yet)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("anomalyView")
        self.setAccessibleName("Anomaly detection")
        self.picker = SetPicker()
        self.histogram = ScoreHistogram()
        self.roc = RocPlot()
        self.threshold = ThresholdControl()
        self.table = AucTable()
        self.table.fit_height()
        self.gallery = LeastLikelyGallery()
        self.advice = named(QLabel(""), "anomalyAdvice", "Which score to use",
                            "Computed from the table: the score whose worst AUROC over every set is highest, and "
                            "the scores that call far inputs (noise, blank images, letters…) normal")
        self.advice.setWordWrap(True)
        self.status = plain(named(QLabel(""), "anomalyStatus", "Anomaly detection status"))   # dataset messages
        self.status.setWordWrap(True)
        # A long status (a missing dataset's message) scrolls inside two lines instead of pushing
        # the threshold row over the plots when the window is short (presentation mode at 1280x800).
        self.status_area = QScrollArea()
        self.status_area.setWidget(self.status)
        self.status_area.setWidgetResizable(True)
        self.status_area.setFrameShape(QFrame.Shape.NoFrame)
        self.status_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit_status()
        self.scorer = SetScorer(self)
        plots = QSplitter(Qt.Horizontal)
        plots.addWidget(self.histogram)
        plots.addWidget(self.roc)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 2)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.advice)                # the advice first: visible without scrolling
        side_layout.addWidget(self.table)
        side_layout.addStretch(1)
        # the table (every row) and the advice scroll together when the window is short (presentation mode)
        self.side_area = QScrollArea()
        self.side_area.setObjectName("anomalyTableArea")
        self.side_area.setWidget(side)
        self.side_area.setWidgetResizable(True)
        self.side_area.setFrameShape(QFrame.Shape.NoFrame)
        gallery_box = QWidget()
        gallery_layout = QVBoxLayout(gallery_box)
        gallery_layout.setContentsMargins(0, 0, 0, 0)
        gallery_note = QLabel("Least likely first — click one to open it in the latent editor:")
        gallery_note.setWordWrap(True)
        gallery_layout.addWidget(gallery_note)
        gallery_layout.addWidget(self.gallery, 1)
        self.bottom = bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.side_area)
        bottom.addWidget(gallery_box)
        bottom.setStretchFactor(0, 2)
        bottom.setStretchFactor(1, 1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(plots, 1)
        self.threshold.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        top_layout.addWidget(self.threshold)
        top_layout.addWidget(self.status_area)
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.setObjectName("anomalySplitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([380, 320])             # the table of every set needs its rows
        self.plots = plots
        plots.setMinimumHeight(180)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picker)
        layout.addWidget(self.splitter, 1)
        self.background = None
        self.background_name = ""
        self.kind = UNCONDITIONAL_KINDS[0]
        self.shifts = 0
        self._sources: dict[str, object] = {}       # set key -> ImageSubset or a ("dataset"|"folder", ...) spec
        self._scored: dict[str, ScoredSet] = {}
        self._errors: dict[str, str] = {}
        self._folder: str | None = None
        self._previous_out: str | None = None
        self._gallery_rows: list[tuple[str, int]] = []
        self.heldout_what = ""
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self.rescore)
        self.picker.sets_changed.connect(self._sets_changed)
        self.picker.kind_changed.connect(self._kind_changed)
        self.picker.shifts_changed.connect(self.set_shifts)
        self.scorer.scored.connect(self._set_scored)
        self.scorer.failed.connect(self._set_failed)
        self.threshold.threshold_changed.connect(self._threshold_moved)
        self.gallery.image_chosen.connect(self._open_in_editor)

    # -- models and sets --------------------------------------------------------------------
    def reset(self) -> None:
        """A new bundle: its examples are the held-out set until the validation split arrives."""
        self.background, self.background_name = None, ""
        self.rescore()
        bundle = self.state.bundle
        if bundle is not None and bundle.examples is not None and len(bundle.examples):
            self.set_heldout(bundle.examples, "example", "the bundle's examples")
        else:
            self.set_heldout(None, "", "")

    def rescore(self) -> None:
        """Forget every score (new weights or background) and score the chosen sets again."""
        bundle = self.state.bundle
        self._fitted_for = None
        self.combined_fitted.emit(None)
        self._scored.clear()
        self._errors.clear()
        self.scorer.set_models(None if bundle is None else bundle.vqvae, None if bundle is None else bundle.prior,
                               self.background, self.shifts)
        self._sets_changed()

    def request_refresh(self) -> None:
        if not self._refresh.isActive():
            self._refresh.start()

    def set_background(self, prior, name: str) -> None:
        self.background, self.background_name = prior, name
        self.picker.background.setToolTip(literal(f"Background prior now: {name}. " if prior is not None
                                                  else f"{name}. "))
        self.rescore()

    def set_shifts(self, shifts: int) -> None:
        """Average every score over the image moved by up to ``shifts`` pixels; rescores."""
        self.shifts = shifts
        self.rescore()

    def set_heldout(self, data: ImageSet | None, source: str, what: str) -> None:
        """The held-out images the in/out sets are made of (validation split, or the examples)."""
        bundle = self.state.bundle
        self._sources = {}
        if data is None or bundle is None:
            self.picker.set_options([], [])
            return
        self.heldout_what = what
        normal = prior_classes(bundle.history)
        sets = class_sets(data, normal, source)
        self._sources.update(sets)
        ins = [(sets["in"].title, "in")]
        outs = [(s.title, key) for key, s in sets.items() if key.startswith("class:")]
        if "others" in sets:
            outs.insert(0, (sets["others"].title, "others"))
        own = str((bundle.data or {}).get("name", ""))
        root = (bundle.data or {}).get("root")
        for kind in FAR_KINDS:                             # made from the normal images: noise, letters, ...
            if len(sets["in"].images):
                self._sources[f"far:{kind}"] = ("far", kind, sets["in"].images, usable_root(root))
            outs.append((f"far: {FAR_TITLES[kind]}", f"far:{kind}"))
        for name in OTHER_DATASETS:
            if name != own and DATASETS[name].channels == bundle.vqvae.config.in_channels:
                self._sources[f"dataset:{name}"] = ("dataset", name, root)
                outs.append((f"{DATASETS[name].title} (if present)", f"dataset:{name}"))
        root = usable_root(root)
        if bundle.vqvae.config.in_channels == DATASETS[FASHION].channels and own != FASHION \
                and fashion_present(root):
            self._sources[f"far:{FASHION}"] = ("far", FASHION, None, root)
        outs.append(("Image folder…", "folder"))
        self.picker.set_kinds(UNCONDITIONAL_KINDS + (("nll-label",) if is_conditional(bundle.prior) else ()))
        previous = self.picker.out_set.currentData()
        self.picker.set_options(ins, outs)
        if previous not in [key for _, key in outs] or previous in ("others", "folder"):
            # the notes' example, 1–4 against 5; a prior of every class has no near set: letters
            self.picker.select_out(next((k for k in ("class:5", "others", "far:letters") if k in self._sources),
                                        "others"))

    # -- scoring ----------------------------------------------------------------------------
    def _sets_changed(self) -> None:
        in_key, out_key = self.picker.keys()
        if out_key == "folder" and self._folder is None and not self._ask_folder():
            return
        self._previous_out = out_key
        waiting = [key for key in (in_key, out_key) if key is not None and not self._ensure(key)]
        if in_key is None or out_key is None:
            self._show_empty("No labelled held-out images to compare: open a bundle whose data is available.")
        elif waiting and not any(k in self._errors for k in waiting):
            self._show_empty("Scoring " + " and ".join(self._title(k) for k in waiting) + "…")
        for column in self._columns():                  # the table's sets, after the pair on show
            self._ensure(column.key)
        self._update()

    def _columns(self) -> list[Column]:
        """The AUROC table's sets: the chosen anomalous set, the other near sets, every far set."""
        _, out_key = self.picker.keys()
        near = [k for k in ("class:5", "others") if k in self._sources]
        if out_key is not None and out_key in self._sources and not out_key.startswith("far:"):
            near = [out_key] + [k for k in near if k != out_key]
        near = [k for k in near if k not in self._errors]             # a set that failed has no column
        far = [k for k in self._sources if k.startswith("far:") and k not in self._errors]
        return [Column(k, self._short_title(k), False) for k in near] + \
               [Column(k, self._short_title(k), True) for k in far]

    def _short_title(self, key: str) -> str:
        if key.startswith("class:"):
            return f"{key.split(':', 1)[1]}s"
        if key.startswith("far:"):
            return FAR_TITLES.get(key.split(":", 1)[1], key)
        return {"others": "other digits", "folder": "folder"}.get(key, self._title(key))

    def _ask_folder(self) -> bool:
        folder = QFileDialog.getExistingDirectory(self, "Folder of anomalous images")
        if not folder:
            if self._previous_out is not None and self._previous_out != "folder":
                self.picker.select_out(self._previous_out)
            return False
        self.choose_folder(folder)
        return True

    def choose_folder(self, folder: str) -> None:
        """Use the images below ``folder`` as the anomalous set."""
        self._folder = folder
        self._sources["folder"] = ("folder", folder)
        self._scored.pop("folder", None)
        self._errors.pop("folder", None)
        if self.picker.out_set.currentData() != "folder":
            self.picker.select_out("folder")
        else:
            self._sets_changed()

    def _ensure(self, key: str) -> bool:
        """True when the set is scored; otherwise queue it."""
        if key in self._scored:
            return True
        source = self._sources.get(key)
        if source is not None and key not in self._errors and self.state.bundle is not None \
                and self.state.bundle.prior is not None:
            self.scorer.request(key, source)
        return False

    def _title(self, key: str) -> str:
        source = self._sources.get(key)
        if isinstance(source, ImageSubset):
            return source.title
        if key.startswith("dataset:"):
            return DATASETS[key.split(":", 1)[1]].title
        return {"folder": "the folder"}.get(key, key)

    def _set_scored(self, key: str, result: ScoredSet) -> None:
        self._scored[key] = result
        self._update()

    def _set_failed(self, key: str, message: str) -> None:
        first = message.strip().splitlines()[0] if message.strip() else "unknown error"
        self._errors[key] = first
        if key in self.picker.keys():
            hint = ""
            if key.startswith("dataset:"):
                hint = (" Put its files in the bundle's data folder, or choose another anomalous set "
                        "(an image folder, or for a prior trained on some classes the other held-out classes).")
            self._show_empty(f"Could not score {self._title(key)}: {first}{hint}")
            self.histogram.clear(f"{self._title(key)}: not available")

    def is_busy(self) -> bool:
        return self.scorer.busy

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self.scorer.set_paused(False)

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt API): another tab, or the window closes
        super().hideEvent(event)
        self.scorer.set_paused(True)

    # -- display ----------------------------------------------------------------------------
    def _kind_changed(self, kind: str) -> None:
        self.kind = kind
        self._update()

    def _show_empty(self, message: str) -> None:
        self.histogram.clear("scoring…" if message.startswith("Scoring") else "no scores")   # the status says why
        self.roc.set_curve(None)
        self.threshold.clear()
        self.table.set_current(self.kind)
        self.gallery.set_images([])
        self.status.setText(message)

    def _pair(self) -> tuple[ScoredSet, ScoredSet] | None:
        in_key, out_key = self.picker.keys()
        if in_key in self._scored and out_key in self._scored:
            return self._scored[in_key], self._scored[out_key]
        return None

    def refresh_view(self) -> None:
        """Redraw from the scores at hand (e.g. after the status of the held-out data changed)."""
        self._update()

    def _update(self) -> None:
        pair = self._pair()
        if pair is None:
            return
        normal, anomalous = pair
        empty = [s.subset.title for s in pair if len(s.subset.images) == 0]
        if empty:
            self._show_empty(f"No images in {' and '.join(empty)}: choose other sets.")
            return
        in_key, out_key = self.picker.keys()
        others = {k: s.scores for k, s in self._scored.items() if k != in_key}
        if add_combined(normal.scores, others):
            self._emit_fit(normal)
        kinds = [self.picker.kind.itemData(i) for i in range(self.picker.kind.count())]
        table = auroc_table(normal.scores, others, self._columns(), kinds)
        self.table.set_table(table, self.kind)
        lines = advice_lines(table)
        best = recommended(table)
        if best is not None and best[1] < GOOD_AUROC and not self.shifts:
            lines[0] += " Try ±1 px average (9× the time): it steadies every score."
        self.advice.setText("\n".join(lines))
        if self.kind not in normal.scores or self.kind not in anomalous.scores:
            self._show_empty(self._missing_score_text(anomalous))
            self.table.set_table(table, self.kind)
            return
        s_in, s_out = normal.scores[self.kind], anomalous.scores[self.kind]
        unit = SCORE_UNITS[self.kind]
        self.histogram.set_scores(s_in, s_out, unit)
        self.roc.set_curve(roc_curve(s_in, s_out))
        self.threshold.set_scores(s_in, s_out, unit)
        self._fill_gallery(normal, anomalous)
        bg = f" Background prior: {self.background_name}." if self.background is not None else ""
        bg += " Scores averaged over ±1 px shifts." if self.shifts else ""
        bundle = self.state.bundle
        formula = ""                                     # in the tooltip: the status keeps to its two lines
        if bundle is not None and bundle.prior is not None and is_conditional(bundle.prior):
            if self.kind == "nll-label":
                bg += " NLL given each image's label."
            else:
                bg += " Class-conditional prior: class-marginalised scores, uniform p(c)."
                formula = f"{MARGINAL_NOTE}, uniform p(c)"
        self.status.setToolTip(formula)
        auc = table.get(self.kind, out_key)
        auc_text = f"AUROC {auc:.3f}" if auc is not None else "AUROC"
        self.status.setText(f"{auc_text}: the chance that an anomalous image scores higher than "
                            f"a normal one (ties count ½). Held-out images from {self.heldout_what}.{bg}")

    def _emit_fit(self, normal: ScoredSet) -> None:
        """The combined score's density, for the one-image view (once per normal set)."""
        if getattr(self, "_fitted_for", None) is normal:
            return
        self._fitted_for = normal
        try:
            fit = fit_combined({k: v for k, v in normal.scores.items() if k != "combined"})
        except ValueError:
            fit = None
        self.combined_fitted.emit(fit)

    def _missing_score_text(self, anomalous: ScoredSet) -> str:
        if self.kind == "ratio":
            return ("The likelihood ratio needs a background prior over the same codes: press "
                    "Background… and pick a bundle with the same VQ-VAE (e.g. the all-digit mnist).")
        if self.kind == "nll-label":
            return (f"{anomalous.subset.title} has no labels: the NLL given the label only exists for held-out "
                    f"images of the bundle's dataset; the NLL score is class-marginalised for any input.")
        if self.kind == "combined":
            return "The combined score is fitted on the normal set: it needs at least 8 normal images."
        return "This score is not available for these sets."

    def _fill_gallery(self, normal: ScoredSet, anomalous: ScoredSet) -> None:
        both = np.r_[normal.scores[self.kind], anomalous.scores[self.kind]]
        n_in = len(normal.scores[self.kind])
        entries, rows = [], []
        in_key, out_key = self.picker.keys()
        for pos, i in enumerate(least_likely(both, GALLERY_SIZE).tolist()):
            key, scored, j = (out_key, anomalous, i - n_in) if i >= n_in else (in_key, normal, i)
            caption = f"{both[i]:.1f}\n{scored.subset.names[j]}: score {both[i]:.2f} {SCORE_UNITS[self.kind]}"
            entries.append((pos, scored.subset.images[j], i >= n_in, caption))
            rows.append((key, j))
        self._gallery_rows = rows
        self.gallery.set_images(entries)

    def _threshold_moved(self, threshold: float, tpr: float, fpr: float) -> None:
        self.histogram.set_threshold(threshold)
        self.roc.set_point(fpr, tpr)

    def _open_in_editor(self, position: int) -> None:
        key, j = self._gallery_rows[position]
        scored = self._scored[key]
        image = scored.subset.images[j].astype(np.float32) / 255.0
        label = f"{scored.subset.names[j]}, {self.kind} score {scored.scores[self.kind][j]:.2f}"
        self.state.open_in_editor(scored.codes[j], label, image=image, kind="image")

    def _fit_status(self) -> None:
        """Two lines of status, scrolling beyond (the font grows in presentation mode)."""
        self.status_area.setFixedHeight(2 * self.status.fontMetrics().lineSpacing() + 8)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._fit_status()

    def set_presentation(self, on: bool) -> None:
        for part in (self.histogram, self.roc, self.gallery, self.table):
            part.set_presentation(on)
        self._fit_status()
        self.plots.setMinimumHeight(160 if on else 180)            # big text: the table needs more room
        self.splitter.setSizes([300, 360] if on else [380, 320])
        self.bottom.setSizes([660, 220] if on else [560, 280])   # F5: the AUROC table at its full width
