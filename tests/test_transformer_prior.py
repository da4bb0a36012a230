"""The causal transformer prior: exact raster causality, the key/value cache against full passes,
the bundle format (round trip, hostile configs), the measured receptive field, likelihoods and
compression through the shared prior API."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from explorer.core.bundle import load_bundle
from explorer.core.compression import decode_grids, encode_grids
from explorer.core.models.ensemble import PriorEnsemble
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.transformer_prior import TransformerPrior
from explorer.core.receptive_field import causal_region, measured_receptive_fields, prior_kind
from test_bundle import assert_prior_config_refused, make_bundle


def tiny(num_classes: int = 0, seed: int = 0, **overrides) -> TransformerPrior:
    """A small transformer with random (non-default) weights everywhere, dropout 0, in eval mode."""
    cfg = dict(kind="transformer", num_codes=11, height=7, width=7, channels=16, layers=2, heads=2, mlp_ratio=2,
               dropout=0.0, num_classes=num_classes)
    torch.manual_seed(seed)
    prior = build_prior(PriorConfig(**{**cfg, **overrides})).eval()
    with torch.no_grad():
        for p in prior.parameters():            # large random weights: every dependence shows in the logits
            p.normal_(0.0, 0.5)
    return prior


@pytest.mark.parametrize("num_classes", [0, 3])
def test_logits_at_t_ignore_every_code_at_t_or_later(num_classes: int) -> None:
    prior = tiny(num_classes)
    g = torch.Generator().manual_seed(1)
    n, hw = 4, 49
    codes = torch.randint(0, 11, (n, 7, 7), generator=g)
    labels = torch.randint(0, num_classes, (n,), generator=g) if num_classes else None
    with torch.no_grad():
        base = prior.logits(codes, labels).flatten(2)                             # (n, K, 49)
        for t in range(hw):
            changed = codes.clone().view(n, hw)
            changed[:, t:] = (changed[:, t:] + torch.randint(1, 11, (n, hw - t), generator=g)) % 11  # all differ
            out = prior.logits(changed.view(n, 7, 7), labels).flatten(2)
            assert torch.allclose(out[:, :, :t + 1], base[:, :, :t + 1], atol=1e-5), f"position {t} sees the future"
            if t + 1 < hw:                                                        # and it does see the past
                assert not torch.allclose(out[:, :, t + 1:], base[:, :, t + 1:], atol=1e-3)


def test_measured_receptive_field_is_every_earlier_cell() -> None:
    prior = tiny()
    fields = measured_receptive_fields(prior)                                     # (H, W, H, W)
    for i in range(7):
        for j in range(7):
            assert (fields[i, j] == causal_region(7, 7, i, j)).all(), (i, j)
    assert prior_kind(prior) == "transformer"


@pytest.mark.parametrize("num_classes", [0, 4])
def test_cached_sampling_equals_full_passes_for_a_seed(num_classes: int) -> None:
    prior = tiny(num_classes, seed=2)
    labels = torch.tensor([0, 1, 2, 3, 0, 1]) % max(num_classes, 1) if num_classes else None
    given = torch.randint(0, 11, (6, 7, 7), generator=torch.Generator().manual_seed(3))
    mask = torch.rand(6, 7, 7, generator=torch.Generator().manual_seed(4)) < 0.5
    for kwargs in ({}, {"given": given, "mask": mask}, {"temperature": 0.7, "top_k": 5}):
        fast = prior.sample(6, generator=torch.Generator().manual_seed(5), labels=labels, **kwargs)
        naive = prior.sample(6, generator=torch.Generator().manual_seed(5), labels=labels, method="naive", **kwargs)
        assert torch.equal(fast, naive)
    two = labels[:2] if labels is not None else None
    fast_steps = list(prior.steps(2, generator=torch.Generator().manual_seed(6), labels=two))
    naive_steps = list(prior.steps(2, generator=torch.Generator().manual_seed(6), method="naive", labels=two))
    for a, b in zip(fast_steps, naive_steps):
        assert torch.allclose(a.log_probs, b.log_probs, atol=1e-4)


def test_the_cache_refuses_positions_out_of_raster_order() -> None:
    stepper = tiny().incremental(torch.zeros(1, 7, 7, dtype=torch.long), None)
    with torch.no_grad():
        stepper.logits_at(0, 0)
        stepper.commit(0, 0, torch.zeros(1, dtype=torch.long))
        with pytest.raises(ValueError, match="raster position 1"):
            stepper.logits_at(0, 2)


def test_log_prob_is_a_normalised_distribution_over_tiny_grids() -> None:
    prior = tiny(num_codes=3, height=2, width=2, channels=8, heads=2)
    grids = torch.cartesian_prod(*[torch.arange(3)] * 4).view(-1, 2, 2)           # all 81 grids
    with torch.no_grad():
        total = prior.log_prob(grids).exp().sum().item()
    assert math.isclose(total, 1.0, rel_tol=1e-4)


def test_class_conditional_transformer_needs_labels() -> None:
    with pytest.raises(ValueError, match="class-conditional"):
        tiny(3).logits(torch.zeros(1, 7, 7, dtype=torch.long))
    with pytest.raises(ValueError, match="class-conditional"):
        tiny(3).sample(1)


def test_ensemble_of_transformers_mixes_conditionals_and_samples_alike() -> None:
    ensemble = PriorEnsemble.of([tiny(seed=0), tiny(seed=1)]).eval()
    assert ensemble.config.describe() == "ensemble of 2 transformers"
    a = ensemble.sample(3, generator=torch.Generator().manual_seed(0))
    b = ensemble.sample(3, generator=torch.Generator().manual_seed(0), method="naive")
    assert torch.equal(a, b)
    assert prior_kind(ensemble) == "transformer"


def test_compression_round_trip_is_exact_with_a_transformer() -> None:
    prior = tiny(num_classes=2)
    codes = torch.randint(0, 11, (5, 7, 7), generator=torch.Generator().manual_seed(7))
    labels = torch.tensor([0, 1, 1, 0, 1])
    data = encode_grids(prior, codes, labels)
    assert torch.equal(decode_grids(prior, data, 5, (7, 7), labels), codes)


@pytest.mark.parametrize("num_classes", [0, 3])
def test_both_cached_evaluator_revisions_give_the_teacher_forced_logits(num_classes: int) -> None:
    """Revision 2 (prepared weights, the default) and revision 1 (kept for .dlc format 2) compute the
    same conditionals as the full pass at every raster position, to float rounding."""
    prior = tiny(num_classes, seed=4)
    codes = torch.randint(0, 11, (5, 7, 7), generator=torch.Generator().manual_seed(8))
    labels = torch.tensor([0, 1, 2, 0, 1]) if num_classes else None
    with torch.no_grad():
        full = prior.logits(codes, labels)                                          # (5, K, 7, 7)
        for revision in (1, 2):
            stepper = prior.incremental(torch.zeros_like(codes), labels, revision)
            for i in range(7):
                for j in range(7):
                    assert torch.allclose(stepper.logits_at(i, j), full[:, :, i, j], atol=1e-5), (revision, i, j)
                    stepper.commit(i, j, codes[:, i, j])
    with pytest.raises(ValueError, match="revision 3"):
        prior.incremental(codes, labels, 3)


@pytest.mark.parametrize("num_classes, n, grid, channels", [(0, 5, (7, 7), 16), (3, 1, (3, 4), 24), (0, 17, (5, 2), 8)])
def test_block_by_block_logits_are_the_raster_steps_bit_for_bit(num_classes: int, n: int, grid: tuple,
                                                                   channels: int) -> None:
    """``logits_of`` (the encoder's block-by-block order) gives exactly the bits of ``logits_at`` and
    ``commit`` position by position (the decoder's order), early masked spans included, and leaves the
    cache where the raster steps leave it; the compression round trip relies on this."""
    prior = tiny(num_classes, seed=6, channels=channels, height=grid[0], width=grid[1])
    codes = torch.randint(0, 11, (n, *grid), generator=torch.Generator().manual_seed(9))
    labels = torch.arange(n) % num_classes if num_classes else None
    steps = prior.incremental(torch.zeros_like(codes), labels)
    expected = []
    for i in range(grid[0]):
        for j in range(grid[1]):
            expected.append(steps.logits_at(i, j).clone())
            steps.commit(i, j, codes[:, i, j])
    ahead = prior.incremental(torch.zeros_like(codes), labels)
    assert torch.equal(ahead.logits_of(codes), torch.stack(expected))
    assert ahead.next_t == steps.next_t and torch.equal(ahead.previous, steps.previous)
    for (k1, v1, _, _), (k2, v2, _, _) in zip(ahead.cache, steps.cache):
        assert torch.equal(k1, k2) and torch.equal(v1, v2)
    with pytest.raises(ValueError, match="fresh evaluator"):
        ahead.logits_of(codes)


def test_size_estimate_equals_the_built_transformers_state() -> None:
    for cfg in (PriorConfig(kind="transformer", channels=12, layers=3, heads=3, mlp_ratio=3, num_classes=5,
                            num_codes=9, height=4, width=6),
                PriorConfig(kind="transformer", channels=8, layers=1, heads=8, members=2)):
        model = build_prior(cfg)
        assert cfg.state_size() == sum(t.numel() for t in model.state_dict().values())


def _transformer_bundle(tmp_path: Path) -> Path:
    bundle = make_bundle()
    bundle.prior = tiny(num_classes=10, num_codes=16)
    path = tmp_path / "tf"
    bundle.save(path)
    return path


def test_bundle_round_trip_keeps_the_transformer(tmp_path: Path) -> None:
    path = _transformer_bundle(tmp_path)
    loaded = load_bundle(path)
    assert isinstance(loaded.prior, TransformerPrior)
    assert loaded.prior.config == tiny(num_classes=10, num_codes=16).config
    codes = torch.randint(0, 16, (3, 7, 7))
    labels = torch.tensor([1, 2, 3])
    with torch.no_grad():
        original = tiny(num_classes=10, num_codes=16).logits(codes, labels)
        assert torch.allclose(loaded.prior.logits(codes, labels), original, atol=1e-5)


@pytest.mark.parametrize("update, needle", [
    ({"heads": 3}, "multiple of heads"),                   # 16 channels, 3 heads
    ({"heads": 0}, "heads"), ({"heads": 1 << 20}, "heads"), ({"heads": "4"}, "heads"),
    ({"mlp_ratio": 1000}, "mlp_ratio"), ({"mlp_ratio": 2.5}, "mlp_ratio"),
    ({"kind": "Transformer"}, "kind"), ({"channels": 1024, "layers": 64, "mlp_ratio": 16, "members": 32}, "allowed"),
])
def test_hostile_transformer_configs_are_refused_with_one_message(tmp_path: Path, update: dict, needle: str) -> None:
    assert_prior_config_refused(_transformer_bundle(tmp_path), update, needle)


def test_older_bundles_without_the_transformer_fields_still_load(tmp_path: Path) -> None:
    bundle = make_bundle()
    bundle.save(tmp_path / "old")
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    for name in ("heads", "mlp_ratio"):
        config["prior"]["config"].pop(name)
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    assert load_bundle(tmp_path / "old").prior.config.kind == "gated"


def test_inpainting_keeps_the_cells_outside_the_region_and_likelihoods_add_up() -> None:
    from explorer.core.anomaly import position_nll
    from explorer.core.latent_edit import inpaint_steps
    prior = tiny()
    codes = torch.randint(0, 11, (7, 7), generator=torch.Generator().manual_seed(8)).numpy()
    region = torch.zeros(7, 7, dtype=torch.bool)
    region[2:5, 1:4] = True
    *_, last = inpaint_steps(prior, codes, region.numpy(), generator=torch.Generator().manual_seed(9))
    out = last.grid[0]
    assert torch.equal(out[~region], torch.as_tensor(codes)[~region])
    batch = torch.stack([out, torch.as_tensor(codes)])
    with torch.no_grad():
        per_cell = position_nll(prior, batch)                                    # (2, 7, 7) nats
        assert torch.allclose(torch.from_numpy(per_cell.sum((1, 2))).float(), -prior.log_prob(batch), atol=1e-3)


def test_cli_trains_and_ensembles_transformer_priors(tmp_path: Path, mnist_root: Path) -> None:
    from test_cli import run
    base = tmp_path / "base"
    bundle = make_bundle(with_prior=False)
    bundle.save(base)
    common = ["--data", "mnist", "--data-root", str(mnist_root), "--limit", "600", "--holdout-last", "100",
              "--max-steps", "3", "--batch-size", "16", "--device", "cpu", "--augment-shifts", "0",
              "--kind", "transformer", "--channels", "16", "--layers", "1", "--heads", "2", "--mlp-ratio", "2"]
    for seed in ("0", "1"):
        code, out, err = run("train", "prior", "--bundle", str(base), "--out", str(tmp_path / seed), "--seed", seed,
                             *common)
        assert code == 0, err
        assert "Training a transformer prior" in err
    prior = load_bundle(tmp_path / "0").prior
    assert isinstance(prior, TransformerPrior) and prior.config.heads == 2 and prior.config.layers == 1
    code, out, err = run("ensemble", "--bundle", str(tmp_path / "0"), "--bundle", str(tmp_path / "1"),
                         "--out", str(tmp_path / "both"), "--data-root", str(mnist_root))
    assert code == 0, err
    assert "ensemble of 2 transformer priors" in out
    assert load_bundle(tmp_path / "both").prior.config.describe() == "ensemble of 2 transformers"
    code, out, err = run("train", "prior", "--bundle", str(base), "--out", str(tmp_path / "bad"), *common[:-4],
                         "--heads", "3")
    assert code == 2 and "multiple of heads" in err and "Traceback" not in err
