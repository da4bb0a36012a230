"""After fine-tuning in the app, saving writes a MODEL_CARD.md that says what the app did (the
history the Train panel records with ``record_training``), not the shipped card's claims."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from explorer.core.bundle import load_bundle
from explorer.core.model_card import earlier_card
from explorer.ui.train.outcome import record_training
from explorer.ui.train.settings import TrainSettings
from explorer.ui.train.training_job import Finished

SHIPPED = Path(__file__).resolve().parents[2] / "trained_models" / "mnist-classes"


def test_card_after_an_app_fine_tune_describes_the_fine_tune(tmp_path: Path) -> None:
    if not (SHIPPED / "MODEL_CARD.md").is_file():
        pytest.skip("trained_models/mnist-classes is not in this checkout")
    source = Path(shutil.copytree(SHIPPED, tmp_path / "mnist-classes"))
    shipped = (source / "MODEL_CARD.md").read_text()
    bundle = load_bundle(source)
    settings = TrainSettings(mode="vqvae")
    record_training(bundle, Finished(which="vqvae", step=120, total_steps=120, stopped=False, weights=None,
                                     device="cpu (1 thread)"), settings)
    bundle.save(tmp_path / "mnist-classes-tuned")                    # what Save on quit does
    card = (tmp_path / "mnist-classes-tuned" / "MODEL_CARD.md").read_text()
    own_text = "\n".join(line for line in card.splitlines() if not line.startswith(">"))
    assert "copied unchanged" in shipped
    # the shipped claim appears only quoted, or named as the earlier model's claim
    assert all("describe the earlier model" in line for line in own_text.splitlines() if "copied unchanged" in line)
    assert "trained in the app for 120 steps" in own_text and "(the VQ-VAE changed here)" in own_text
    assert "`mnist-classes`" in own_text
    assert earlier_card(card).strip() == shipped.strip()
