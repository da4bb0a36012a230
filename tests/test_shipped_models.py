"""The class-conditional and Gumbel MNIST bundles under trained_models/ load and are what their cards say."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from explorer.core.bundle import load_bundle

MODELS = Path(__file__).resolve().parents[1] / "trained_models"


def shipped(name: str):
    path = MODELS / name
    if not (path / "config.json").is_file():
        pytest.skip(f"trained_models/{name} is not there")
    return load_bundle(path)


@pytest.mark.parametrize("name", ["mnist-classes", "mnist-gumbel"])
def test_new_bundles_name_no_machine_path_and_have_a_card(name: str) -> None:
    bundle = shipped(name)
    assert bundle.data["root"] is None                      # the per-user default data folder
    assert bundle.data["holdout_last"] == 1000
    assert bundle.weights_dtype == "float16"
    assert (MODELS / name / "MODEL_CARD.md").is_file()


def test_class_prior_sits_on_the_shipped_vqvae_unchanged() -> None:
    bundle, base = shipped("mnist-classes"), shipped("mnist")
    cfg = bundle.prior.config
    assert (cfg.num_classes, cfg.members, cfg.num_codes) == (10, 1, 16)
    assert bundle.vqvae.config == base.vqvae.config
    base_state = base.vqvae.state_dict()
    for key, value in bundle.vqvae.state_dict().items():
        assert torch.equal(value, base_state[key]), key
    grids = bundle.prior.sample(4, labels=7, generator=torch.Generator().manual_seed(0))
    assert grids.shape == (4, 7, 7) and grids.min() >= 0 and grids.max() < 16
    with pytest.raises(ValueError, match="class-conditional"):
        bundle.prior.logits(grids)                          # a label is required


def test_gumbel_bundle_is_a_gumbel_vqvae_over_mnist() -> None:
    cfg = shipped("mnist-gumbel").vqvae.config
    assert (cfg.quantizer, cfg.num_codes, cfg.image_size, cfg.grid_size) == ("gumbel", 16, 28, 7)
