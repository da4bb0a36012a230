"""The latent editor's prior runs: sample a whole grid, resample a region, lock the grid meanwhile.

Each run is the prior's raster steps z_ij ~ p(z_ij | z_<ij, c) (notes, "PixelCNN: Inference"),
driven by :class:`~explorer.ui.editor.resampler.PriorStepper` on the GUI thread. A
class-conditional prior draws the class chosen in the source bar (``priorClass``). The grid is
locked while a run goes on and unlocked in one place, :meth:`PriorRunsMixin._prior_running`,
however the run ends (finished, failed, cancelled by another image, source or bundle).
"""
from __future__ import annotations

import numpy as np

from explorer.core.latent_edit import PriorUseError, SourceEncoding, inpaint_steps, prior_num_classes, sample_steps


class PriorRunsMixin:
    """Mixed into LatentEditor (a QWidget); uses its state, grid, views, bars and stepper."""

    def _offer_prior_classes(self) -> None:
        """Offer the classes of a class-conditional prior (named by the dataset once it is loaded)."""
        bundle = self.state.bundle
        num_classes = prior_num_classes(bundle.prior) if bundle is not None and bundle.prior is not None else 0
        names = dict(enumerate(self._splits.class_names)) if self._splits is not None else {}
        self.source_bar.set_prior_classes(num_classes, names)

    def _resample(self) -> None:
        region = self.grid_view.region
        prior = self.state.bundle.prior if self.state.bundle else None
        if region is None or prior is None:
            self.show_error("Resampling needs a selected region and a bundle with a prior.")
            return
        mask = region.mask(*self.grid.shape)
        label = self.source_bar.chosen_prior_class()
        self._run_prior(lambda: inpaint_steps(prior, self.grid.codes, mask, label=label,
                                              num_codes=self.grid.num_codes), "region", mask)

    def _sample_prior(self) -> None:
        prior = self.state.bundle.prior if self.state.bundle else None
        if prior is None:
            self.show_error("This bundle has no prior to sample from.")
            return
        label = self.source_bar.chosen_prior_class()
        self._sample_name = "prior sample" + (f" ({self.source_bar.prior_class.currentText()})"
                                              if label is not None else "")
        self._run_prior(lambda: sample_steps(prior, self.grid.shape, label=label, num_codes=self.grid.num_codes),
                        "sample",
                        np.ones(self.grid.shape, dtype=bool))

    def _run_prior(self, make_steps, purpose: str, mask: np.ndarray) -> None:
        """Start the prior's raster steps (``make_steps()``); the grid is locked until they end."""
        self.clear_error()
        try:
            steps = make_steps()
        except PriorUseError as exc:
            self.show_error(f"Cannot sample: {exc}")
            return
        self._prior_purpose, self._prior_mask = purpose, mask
        self.stepper.start(steps, animated=self.edit_bar.animate.isChecked())

    def _prior_running(self, running: bool) -> None:
        """The one place the grid is locked for a prior run and unlocked, however the run ends
        (finished, failed, cancelled by a new source or bundle): the preview is dropped and the
        grid shows its own codes again."""
        self.grid_view.enabled_editing = not running
        if not running:
            self._preview = None
            self.grid_view.set_active_cell(None)
            self._grid_changed()

    def _prior_stepped(self, step) -> None:
        self._preview = step.grid[0].numpy()
        h, w = self._preview.shape
        pending = self._prior_mask & (np.arange(h * w).reshape(h, w) > step.t)
        shown = self._preview.copy()
        shown[pending] = -1                       # not drawn yet: shown blank
        self.grid_view.set_codes(shown)
        self.grid_view.set_active_cell(step.position)
        self._schedule_decode()

    def _prior_finished(self, codes: np.ndarray) -> None:
        if self._prior_purpose == "region":
            self._push_edit(self.grid.replace_with(codes, "resample region"))
        else:
            self.set_source(SourceEncoding(None, codes, label=self._sample_name, kind="sample"))
        self._grid_changed()
