"""Training loops on real MNIST digits: losses fall, NaN stops cleanly, closing the generator stops."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from explorer.core.data import DataConfig, DataSplits, load_data
from explorer.core.metrics import encode_images, evaluate_prior, evaluate_vqvae
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.training import PriorTrainConfig, VQVAETrainConfig, train_prior, train_vqvae
from explorer.core.models.vqvae import VQVAE, VQVAEConfig

TINY_VQ = VQVAEConfig(hidden_channels=16, res_channels=8, res_blocks=1, num_codes=16, code_dim=4)
TINY_PRIOR = PriorConfig(num_codes=16, height=7, width=7, channels=16, layers=2, head_channels=16, dropout=0.0)


@pytest.fixture(scope="module")
def digits(mnist_root: Path) -> DataSplits:
    """The shared MNIST digits: first 9 000 train, last 1 000 held out."""
    splits = load_data(DataConfig(name="mnist", root=str(mnist_root), holdout_last=1000))
    assert (len(splits.train), len(splits.val)) == (9000, 1000)
    return splits


def vq_config(**overrides) -> VQVAETrainConfig:
    base = dict(model=TINY_VQ, max_steps=30, batch_size=32, lr=3e-3, warmup_steps=3, val_every=1000,
                early_val_step=0, seed=0)
    return VQVAETrainConfig(**{**base, **overrides})


def prior_config(**overrides) -> PriorTrainConfig:
    base = dict(model=TINY_PRIOR, max_steps=30, batch_size=32, lr=3e-3, warmup_steps=3, val_every=1000,
                augment_shifts=0, seed=0)
    return PriorTrainConfig(**{**base, **overrides})


def fresh_vqvae(config: VQVAEConfig = TINY_VQ) -> VQVAE:
    torch.manual_seed(0)
    return VQVAE(config)


@pytest.fixture(scope="module")
def trained_vqvae(digits: DataSplits) -> VQVAE:
    model = fresh_vqvae()
    for _ in train_vqvae(vq_config(), digits, "cpu", model=model):
        pass
    return model.eval()


def state_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed_entries(before: dict[str, torch.Tensor], model: torch.nn.Module) -> list[str]:
    now = model.state_dict()
    return [k for k in before if not torch.equal(before[k], now[k])]


# ---------------------------------------------------------------------------------- losses fall
def test_vqvae_loss_and_validation_mse_fall(digits: DataSplits) -> None:
    model = fresh_vqvae()
    mse_before = evaluate_vqvae(model, digits.val.images)["mse"]
    steps = list(train_vqvae(vq_config(), digits, "cpu", model=model))
    assert [s.step for s in steps] == list(range(1, 31)) and all(s.model is model for s in steps)
    recon = [s.recon_loss for s in steps]
    first, last = sum(recon[:5]) / 5, sum(recon[-5:]) / 5
    assert last < 0.9 * first, (first, last)
    assert steps[-1].val_mse is not None and all(s.val_mse is None for s in steps[:-1])
    assert steps[-1].val_mse < 0.9 * mse_before, (mse_before, steps[-1].val_mse)
    assert steps[-1].val_mse == pytest.approx(evaluate_vqvae(model, digits.val.images)["mse"])
    assert steps[-1].perplexity > 2.0 and steps[-1].eta_s == 0.0


def test_vqvae_validates_early_then_on_schedule(digits: DataSplits) -> None:
    """Reconstructions appear after a few steps, not only after the first val_every steps."""
    steps = list(train_vqvae(vq_config(max_steps=25, val_every=20, early_val_step=3, preview_size=4), digits, "cpu"))
    validated = [s.step for s in steps if s.val_mse is not None]
    assert validated == [3, 20, 25]
    assert all(s.preview is not None for s in steps if s.step in validated)
    late = list(train_vqvae(vq_config(max_steps=6, val_every=2, early_val_step=3), digits, "cpu"))
    assert [s.step for s in late if s.val_mse is not None] == [2, 4, 6]     # early only when it is earlier


def test_prior_nll_falls(digits: DataSplits, trained_vqvae: VQVAE) -> None:
    torch.manual_seed(0)
    prior = build_prior(TINY_PRIOR)
    val_codes = encode_images(trained_vqvae, digits.val.images)
    nll_before = evaluate_prior(prior, val_codes)["nll"]
    assert nll_before == pytest.approx(math.log(16), abs=0.3)
    steps = list(train_prior(prior_config(), trained_vqvae, digits, "cpu", prior=prior))
    losses = [s.loss for s in steps]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.1, losses
    assert steps[-1].val_nll < nll_before - 0.1, (nll_before, steps[-1].val_nll)
    assert steps[-1].val_nll == pytest.approx(evaluate_prior(prior, val_codes)["nll"])
    assert 0.0 <= steps[-1].val_accuracy <= 1.0


# ---------------------------------------------------------------------------------- NaN
def run_until_failure(steps) -> tuple[int, dict[str, torch.Tensor] | None, FloatingPointError]:
    """Drive the steps, snapshotting the model after each; return the state before the failing step."""
    snapshot, done = None, 0
    with pytest.raises(FloatingPointError) as info:
        for step in steps:
            snapshot, done = state_copy(step.model), step.step
    return done, snapshot, info.value


def assert_plain_nan_message(exc: FloatingPointError) -> None:
    message = str(exc)
    assert "not finite" in message and "learning rate" in message
    assert "Traceback" not in message and "\n" not in message


def test_vqvae_nan_loss_raises_and_keeps_gradient_trained_weights(digits: DataSplits) -> None:
    """Codebook trained by its loss term, no k-means, no restarts: nothing changes in the forward pass."""
    config = TINY_VQ.__class__(**{**TINY_VQ.to_dict(), "ema": False, "kmeans_init": False, "dead_code_steps": 0})
    model = fresh_vqvae(config)
    done, before, exc = run_until_failure(train_vqvae(vq_config(model=config, lr=1e30, warmup_steps=1),
                                                      digits, "cpu", model=model))
    assert_plain_nan_message(exc)
    assert done >= 1 and before is not None
    assert changed_entries(before, model) == []


def test_vqvae_nan_loss_keeps_weights_with_default_codebook_health(digits: DataSplits) -> None:
    model = fresh_vqvae()
    done, before, exc = run_until_failure(train_vqvae(vq_config(lr=1e30, warmup_steps=1), digits, "cpu",
                                                      model=model))
    assert_plain_nan_message(exc)
    assert changed_entries(before, model) == []


def test_prior_nan_loss_raises_and_keeps_weights(digits: DataSplits, trained_vqvae: VQVAE) -> None:
    torch.manual_seed(0)
    prior = build_prior(TINY_PRIOR)
    done, before, exc = run_until_failure(train_prior(prior_config(lr=1e30, warmup_steps=1), trained_vqvae,
                                                      digits, "cpu", prior=prior))
    assert_plain_nan_message(exc)
    assert done >= 1 and changed_entries(before, prior) == []


def test_nan_on_the_first_step_changes_nothing(digits: DataSplits, trained_vqvae: VQVAE, monkeypatch) -> None:
    """A NaN batch loss (monkeypatched cross-entropy) is refused before any optimiser step."""
    import explorer.core.training as training

    torch.manual_seed(0)
    prior = build_prior(TINY_PRIOR)
    before = state_copy(prior)
    monkeypatch.setattr(training.F, "cross_entropy", lambda logits, target: logits.sum() * float("nan"))
    steps = train_prior(prior_config(), trained_vqvae, digits, "cpu", prior=prior)
    with pytest.raises(FloatingPointError):
        next(steps)
    assert changed_entries(before, prior) == []


# ---------------------------------------------------------------------------------- stopping
def test_closing_the_generator_stops_training_and_the_model_stays_usable(digits: DataSplits) -> None:
    model = fresh_vqvae()
    steps = train_vqvae(vq_config(max_steps=1000), digits, "cpu", model=model)
    records = [next(steps) for _ in range(3)]
    steps.close()
    assert records[-1].step == 3 and records[-1].total_steps == 1000
    with pytest.raises(StopIteration):
        next(steps)
    frozen = state_copy(model)
    metrics = evaluate_vqvae(model, digits.val.images[:100])
    assert math.isfinite(metrics["mse"]) and changed_entries(frozen, model) == []
    codes = model.encode(digits.val.float_images(slice(0, 4)))
    assert codes.shape == (4, 7, 7) and codes.dtype == torch.long
    assert model.decode(codes).shape == (4, 1, 28, 28)
    # ... and it can be trained further from where it stopped.
    resumed = list(train_vqvae(vq_config(max_steps=2), digits, "cpu", model=model))
    assert resumed[-1].model is model and changed_entries(frozen, model) != []
