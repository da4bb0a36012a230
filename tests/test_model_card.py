"""A saved bundle's MODEL_CARD.md describes the weights beside it: kept while they are the ones it
was written for, rewritten from the training history once they were trained further (the shipped
card's "copied here unchanged" must not survive a fine-tune as a claim)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from explorer.core.bundle import load_bundle
from explorer.core.model_card import MARK_RE, earlier_card, training_lines

SHIPPED = Path(__file__).resolve().parents[1] / "trained_models" / "mnist-1to4"
STALE = "copied here unchanged"


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    if not (SHIPPED / "MODEL_CARD.md").is_file():
        pytest.skip("trained_models/mnist-1to4 is not in this checkout")
    return Path(shutil.copytree(SHIPPED, tmp_path / "mnist-1to4"))


def fine_tune_record(steps: int) -> dict:
    """What the app's Train panel notes in the history after a run (ui/train/outcome.record_training)."""
    return {"steps": steps, "stopped_early": False, "device": "cpu (1 thread)", "trained_with": "app",
            "finished_at": "2026-12-06 17:00:00", "config": {"batch_size": 128, "lr": 0.0001, "seed": 0}}


def claims(card: str) -> str:
    """The card's own text: everything but the quoted earlier card."""
    return "\n".join(line for line in card.splitlines() if not line.startswith(">"))


def test_an_unchanged_bundle_keeps_its_card_word_for_word(shipped_copy: Path, tmp_path: Path) -> None:
    shipped = (shipped_copy / "MODEL_CARD.md").read_text()
    load_bundle(shipped_copy).save(tmp_path / "copy")
    assert (tmp_path / "copy" / "MODEL_CARD.md").read_text() == shipped
    load_bundle(tmp_path / "copy").save(tmp_path / "copy")                # re-saved in place
    assert (tmp_path / "copy" / "MODEL_CARD.md").read_text() == shipped


def test_after_fine_tuning_the_card_says_what_was_done(shipped_copy: Path, tmp_path: Path) -> None:
    shipped = (shipped_copy / "MODEL_CARD.md").read_text()
    assert STALE in shipped
    bundle = load_bundle(shipped_copy)
    bundle.history["vqvae_training"] = fine_tune_record(250)
    bundle.metrics = {}                                  # the app drops metrics that no longer apply
    bundle.save(tmp_path / "tuned")
    card = (tmp_path / "tuned" / "MODEL_CARD.md").read_text()
    assert card != shipped and MARK_RE.search(card)
    assert STALE not in claims(card)                     # quoted as the earlier model's card, never claimed
    assert "trained in the app for 250 steps" in card and "**VQ-VAE**" in card
    assert "`mnist-1to4`" in card                        # which bundle it started from
    assert "None recorded for these weights" in card
    assert earlier_card(card).strip() == shipped.strip()  # the earlier card kept in full, for reference

    # saved again unchanged: the card is kept; trained more: rewritten, the earlier card quoted once
    again = load_bundle(tmp_path / "tuned")
    again.save(tmp_path / "tuned")
    assert (tmp_path / "tuned" / "MODEL_CARD.md").read_text() == card
    again.history["vqvae_training"] = fine_tune_record(400)
    again.history["prior_training"] = fine_tune_record(30)
    again.save(tmp_path / "tuned")
    card2 = (tmp_path / "tuned" / "MODEL_CARD.md").read_text()
    assert "400 steps" in card2 and "**Prior**: trained in the app for 30 steps" in card2
    assert "250 steps" not in card2 and "`mnist-1to4`" in card2
    assert earlier_card(card2).strip() == shipped.strip() and "> >" not in card2
    # the shipped folder is untouched
    assert (shipped_copy / "MODEL_CARD.md").read_text() == shipped


def test_a_card_from_another_bundle_in_the_target_folder_is_not_kept_as_is(shipped_copy: Path,
                                                                           tmp_path: Path) -> None:
    target = tmp_path / "target"
    load_bundle(shipped_copy).save(target)
    other = load_bundle(shipped_copy)
    other.history = {"command": "python -m explorer train vqvae --out runs/other", "steps": 10}
    other.path = None
    other.save(target)                                    # replaces the bundle, carries its card
    card = (target / "MODEL_CARD.md").read_text()
    assert STALE not in claims(card) and "train vqvae --out runs/other" in card


def test_training_lines_from_command_line_histories() -> None:
    history = {"command": "python -m explorer train vqvae --max-steps 3000", "steps": 3000,
               "finished": "2026-11-25", "prior": {"ensemble_of": [{"path": "/tmp/exp/a"}, {"path": "b"}]}}
    lines = training_lines(history)
    assert lines[0].startswith("- **VQ-VAE**: `python -m explorer train vqvae --max-steps 3000`, 3 000 steps")
    assert lines[1] == "- **Prior**: an ensemble of 2 priors (a, b)."
    assert training_lines({}) == ["- No training is recorded in this bundle's history."]
