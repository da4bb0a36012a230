"""The transformer with class heads (explorer/core/models/class_heads.py): an exact mixture
p(z) = sum_c pi_c prod_t p_c(z_t | z_<t) whose conditionals are causal, whose cached evaluator,
coder and sampler agree with the teacher-forced pass, and which trains, saves and loads like
every prior (hostile configs refused with one message)."""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from explorer.core.bundle import BundleError, load_bundle
from explorer.core.compression import decode_grids, encode_grids
from explorer.core.models.class_heads import ClassHeadsTransformerPrior
from explorer.core.models.ensemble import PriorEnsemble
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.receptive_field import causal_region, companion_prior, measured_receptive_fields, prior_kind
from test_bundle import assert_plain, assert_prior_config_refused, make_bundle

K = 11


def tiny(classes: int = 3, seed: int = 0, **overrides) -> ClassHeadsTransformerPrior:
    """A small class-heads transformer with large random weights and an uneven class prior, eval mode."""
    cfg = dict(kind="transformer", num_codes=K, height=7, width=7, channels=16, layers=2, heads=2, mlp_ratio=2,
               dropout=0.0, class_heads=classes)
    torch.manual_seed(seed)
    prior = build_prior(PriorConfig(**{**cfg, **overrides})).eval()
    with torch.no_grad():
        for p in prior.parameters():
            p.normal_(0.0, 0.5)
        prior.log_class_prior.normal_(0.0, 1.0)
    return prior


def grids(n: int, seed: int, shape: tuple[int, int] = (7, 7), k: int = K) -> torch.Tensor:
    return torch.randint(0, k, (n, *shape), generator=torch.Generator().manual_seed(seed))


def test_the_config_builds_the_class_heads_prior_and_counts_its_state() -> None:
    prior = tiny(classes=4)
    assert isinstance(prior, ClassHeadsTransformerPrior) and prior_kind(prior) == "transformer"
    assert prior.config.state_size() == sum(t.numel() for t in prior.state_dict().values())
    assert prior.config.describe() == "transformer with 4 class heads"
    assert PriorConfig(kind="transformer", class_heads=10, members=2).describe() == \
        "ensemble of 2 transformers with 10 class heads"
    assert "log_class_prior" not in dict(prior.named_parameters())          # pi is data, not trained


@pytest.mark.parametrize("given_label", [False, True])
def test_logits_at_t_ignore_every_code_at_t_or_later(given_label: bool) -> None:
    prior = tiny()
    g = torch.Generator().manual_seed(1)
    n, hw = 4, 49
    codes = grids(n, 2)
    labels = torch.tensor([0, 1, 2, 1]) if given_label else None
    with torch.no_grad():
        base = prior.logits(codes, labels).flatten(2)                             # (n, K, 49)
        for t in range(hw):
            changed = codes.clone().view(n, hw)
            changed[:, t:] = (changed[:, t:] + torch.randint(1, K, (n, hw - t), generator=g)) % K
            out = prior.logits(changed.view(n, 7, 7), labels).flatten(2)
            assert torch.allclose(out[:, :, :t + 1], base[:, :, :t + 1], atol=1e-5), f"position {t} sees the future"
            if t + 1 < hw:
                assert not torch.allclose(out[:, :, t + 1:], base[:, :, t + 1:], atol=1e-3)


def test_log_likelihood_is_the_mixture_of_the_heads_and_sums_to_one() -> None:
    prior = tiny()
    codes = grids(6, 3)
    with torch.no_grad():
        mixture = torch.logsumexp(prior.log_pi() - prior.nll_per_class(codes), dim=1)
        assert torch.allclose(prior.log_prob(codes), mixture, atol=1e-4)
        labels = torch.tensor([0, 1, 2, 0, 1, 2])
        per_class = -prior.nll_per_class(codes).gather(1, labels[:, None]).squeeze(1)
        assert torch.allclose(prior.log_prob(codes, labels), per_class, atol=1e-4)
        small = tiny(num_codes=3, height=2, width=2)                               # all 81 grids of a 2x2 grid
        every = torch.tensor(list(itertools.product(range(3), repeat=4))).view(-1, 2, 2)
        assert torch.logsumexp(small.log_prob(every), 0).item() == pytest.approx(0.0, abs=1e-5)


def test_the_cached_evaluator_gives_the_teacher_forced_conditionals() -> None:
    prior = tiny()
    codes = grids(5, 4)
    for labels in (None, torch.tensor([2, 0, 1, 1, 0])):
        with torch.no_grad():
            full = prior.logits(codes, labels)                                     # (n, K, 7, 7)
        stepper = prior.incremental(codes, labels)
        for i in range(7):
            for j in range(7):
                assert torch.allclose(stepper.logits_at(i, j), full[:, :, i, j], atol=1e-4), (i, j)
                stepper.commit(i, j, codes[:, i, j])


@pytest.mark.parametrize("n, shape", [(5, (7, 7)), (1, (3, 4)), (17, (5, 2))])
def test_block_by_block_logits_are_the_raster_steps_bit_for_bit(n: int, shape: tuple[int, int]) -> None:
    prior = tiny(height=shape[0], width=shape[1])
    codes = grids(n, 5, shape)
    ahead = prior.incremental(codes, None).logits_of(codes)                       # (HW, n, K)
    stepper = prior.incremental(codes, None)
    for t in range(shape[0] * shape[1]):
        i, j = divmod(t, shape[1])
        assert torch.equal(stepper.logits_at(i, j), ahead[t]), t
        stepper.commit(i, j, codes[:, i, j])


def test_the_cache_needs_each_positions_logits_before_its_commit() -> None:
    prior = tiny()
    stepper = prior.incremental(grids(2, 6), None)
    with pytest.raises(ValueError, match="logits_at first"):
        stepper.commit(0, 0, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="revision"):
        prior.incremental(grids(2, 6), None, revision=1)


@pytest.mark.parametrize("labels", [None, 2])
def test_cached_sampling_equals_full_passes_for_a_seed(labels) -> None:
    prior = tiny()
    a = prior.sample(6, generator=torch.Generator().manual_seed(7), labels=labels)
    b = prior.sample(6, generator=torch.Generator().manual_seed(7), labels=labels, method="naive")
    assert torch.equal(a, b)
    ensemble = PriorEnsemble.of([tiny(seed=0), tiny(seed=1)])
    a = ensemble.sample(3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, ensemble.sample(3, generator=torch.Generator().manual_seed(0), method="naive"))


def test_sampling_the_mixture_is_sampling_a_class_then_its_head() -> None:
    """Two heads that each always draw one grid: the mixture draws each as often as pi says."""
    prior = tiny(classes=2, num_codes=2, height=1, width=3, layers=1)
    with torch.no_grad():
        prior.head.weight.zero_()
        prior.head.bias.copy_(torch.tensor([30.0, -30.0, -30.0, 30.0]))           # head 0: code 0; head 1: code 1
        prior.log_class_prior.copy_(torch.tensor([math.log(0.2), math.log(0.8)]))
    drawn = prior.sample(4000, generator=torch.Generator().manual_seed(0)).view(4000, 3)
    assert ((drawn == 0).all(1) | (drawn == 1).all(1)).all()                       # never a mix of the two
    assert (drawn[:, 0] == 1).float().mean().item() == pytest.approx(0.8, abs=0.03)


def test_measured_receptive_field_is_every_earlier_cell() -> None:
    prior = tiny()
    fields = measured_receptive_fields(prior)
    for i in range(7):
        for j in range(7):
            assert (fields[i, j] == causal_region(7, 7, i, j)).all(), (i, j)
    assert companion_prior(prior, "gated").config.class_heads == 0             # the causal view's companions build


def test_the_label_term_trains_only_the_labels_head() -> None:
    """w = 1: the loss is -log p_y(z), so the other heads' rows get no gradient; w < 1: every head does."""
    prior = tiny()
    codes, labels = grids(4, 8), torch.zeros(4, dtype=torch.long)
    for w, other_heads_move in ((1.0, False), (0.5, True)):
        prior.zero_grad(set_to_none=True)
        prior(codes, labels, label_weight=w).backward()
        rows = prior.head.weight.grad.view(3, K, -1)
        assert rows[0].abs().sum() > 0
        assert (rows[1:].abs().sum() > 0) == other_heads_move
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for n, p in prior.named_parameters()
                   if n.startswith("blocks.0.attn.qkv"))                               # the trunk learns from it
    nll = prior.nll_per_class(codes)
    expected = (0.5 * nll[:, 0] - 0.5 * torch.logsumexp(prior.log_pi() - nll, 1)).mean() / 49
    assert prior(codes, labels, label_weight=0.5).item() == pytest.approx(expected.item(), rel=1e-5)


def test_compression_round_trip_is_exact() -> None:
    prior = tiny()
    codes = grids(5, 9)
    data = encode_grids(prior, codes)
    assert torch.equal(decode_grids(prior, data, 5, (7, 7)), codes)
    bits = 8 * len(data)
    with torch.no_grad():
        ideal = -prior.log_prob(codes).sum().item() / math.log(2)
    assert ideal < bits < ideal * 1.02 + 64


def _bundle(tmp_path: Path) -> Path:
    bundle = make_bundle()
    bundle.prior = tiny(classes=10, num_codes=16)
    bundle.save(tmp_path / "heads")
    return tmp_path / "heads"


def test_bundle_round_trip_keeps_the_heads_and_the_class_prior(tmp_path: Path) -> None:
    loaded = load_bundle(_bundle(tmp_path)).prior
    original = tiny(classes=10, num_codes=16)
    assert isinstance(loaded, ClassHeadsTransformerPrior) and loaded.config == original.config
    codes = grids(3, 10, k=16)
    with torch.no_grad():
        assert torch.allclose(loaded.logits(codes), original.logits(codes), atol=1e-5)
    assert torch.allclose(loaded.log_pi(), original.log_pi())


@pytest.mark.parametrize("update, needle", [
    ({"class_heads": -1}, "class_heads"), ({"class_heads": 5000}, "class_heads"), ({"class_heads": "10"}, "class_heads"),
    ({"class_heads": 10.5}, "class_heads"), ({"kind": "gated"}, "class heads need"),
    ({"num_classes": 10}, "class heads need"), ({"class_heads": 3}, "do not match"),
])
def test_hostile_class_head_configs_are_refused_with_one_message(tmp_path: Path, update: dict, needle: str) -> None:
    assert_prior_config_refused(_bundle(tmp_path), update, needle)


def test_a_class_prior_that_is_not_finite_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file
    path = _bundle(tmp_path)
    state = load_file(str(path / "prior.safetensors"))
    state["log_class_prior"] = torch.full_like(state["log_class_prior"], float("nan"))
    save_file(state, str(path / "prior.safetensors"))
    with pytest.raises(BundleError, match="NaN") as info:
        load_bundle(path)
    assert_plain(info.value)


def test_training_sets_pi_from_the_labels_and_refuses_unlabelled_images(mnist_root: Path) -> None:
    from explorer.core.data import DataConfig, DataSplits, load_data
    from explorer.core.training import PriorTrainConfig, train_prior
    from test_training import TINY_VQ, VQVAE
    splits = load_data(DataConfig(name="mnist", root=str(mnist_root), limit=700, holdout_last=100))
    torch.manual_seed(0)
    vqvae = VQVAE(TINY_VQ).eval()
    model = PriorConfig(kind="transformer", channels=16, layers=1, heads=2, mlp_ratio=2, class_heads=10, dropout=0.0)
    config = PriorTrainConfig(model=model, max_steps=40, batch_size=32, lr=3e-3, warmup_steps=3, val_every=40,
                              augment_shifts=0, label_weight=0.8)
    steps = list(train_prior(config, vqvae, splits, "cpu"))
    prior = steps[-1].model
    counts = torch.bincount(splits.train.labels, minlength=10).float()
    assert torch.allclose(prior.log_pi().exp(), counts / counts.sum(), atol=1e-6)
    assert sum(s.loss for s in steps[-5:]) < sum(s.loss for s in steps[:5])
    assert steps[-1].val_nll is not None                                          # the marginal, no labels needed
    unlabelled = DataSplits(train=type(splits.train)(splits.train.images, torch.full_like(splits.train.labels, -1)),
                            val=splits.val)
    with pytest.raises(ValueError, match="label"):
        next(train_prior(config, vqvae, unlabelled, "cpu"))


def test_cli_trains_a_class_heads_prior_and_refuses_mixed_flags(tmp_path: Path, mnist_root: Path) -> None:
    from test_cli import run
    base = tmp_path / "base"
    make_bundle(with_prior=False).save(base)
    common = ["train", "prior", "--bundle", str(base), "--data", "mnist", "--data-root", str(mnist_root),
              "--limit", "600", "--holdout-last", "100", "--max-steps", "3", "--batch-size", "16", "--device", "cpu",
              "--augment-shifts", "0", "--kind", "transformer", "--channels", "16", "--layers", "1", "--heads", "2",
              "--mlp-ratio", "2"]
    code, out, err = run(*common, "--out", str(tmp_path / "heads"), "--class-heads", "--label-weight", "0.5")
    assert code == 0, err
    assert "Training a transformer prior with 10 class heads (label weight 0.5)" in err
    prior = load_bundle(tmp_path / "heads").prior
    assert isinstance(prior, ClassHeadsTransformerPrior) and prior.config.class_heads == 10
    code, _, err = run(*common, "--out", str(tmp_path / "no"), "--label-weight", "0.5")
    assert code == 2 and "--class-heads" in err and "Traceback" not in err
    code, _, err = run(*common, "--out", str(tmp_path / "no"), "--class-heads", "--class-conditional")
    assert code == 2 and "not allowed with" in err
    code, _, err = run(*common, "--out", str(tmp_path / "no"), "--class-heads", "--label-weight", "1.5")
    assert code == 2 and "--label-weight: must be in [0, 1]" in err
    code, _, err = run(*common[:-10], "--kind", "gated", "--out", str(tmp_path / "no"), "--class-heads")
    assert code == 2 and "class heads need" in err and "Traceback" not in err


def test_heads_of_one_class_prior_do_not_change_the_mixture_when_pi_is_scaled() -> None:
    """pi is read through a softmax: a file's unnormalised log pi gives the same prior."""
    prior = tiny()
    codes = grids(3, 11)
    with torch.no_grad():
        before = prior.logits(codes)
        prior.log_class_prior.add_(5.0)
        assert torch.allclose(prior.logits(codes), before, atol=1e-5)
        assert torch.allclose(F.log_softmax(before, 1), before, atol=1e-5)       # logits are log-probabilities


def test_class_belief_is_the_mixture_weight_of_each_head() -> None:
    """w_c(t) = p(c | z_<t): pi at t = 0, Bayes' rule over the first t codes after."""
    prior = tiny()
    codes = grids(2, 12)
    assert torch.allclose(prior.class_belief(codes, 0), prior.log_pi().exp().expand(2, -1), atol=1e-6)
    posterior = torch.softmax(prior.log_pi() - prior.nll_per_class(codes), dim=1).detach()
    assert torch.allclose(prior.class_belief(codes, 49), posterior, atol=1e-5)
    partly_drawn = codes.clone()
    partly_drawn.view(2, -1)[:, 10:] = -1                        # what the sampling session holds mid-run
    assert torch.allclose(prior.class_belief(partly_drawn, 10), prior.class_belief(codes, 10))
    with torch.no_grad():                                        # the mixture conditional at t uses exactly these
        lp = prior.class_log_probs(codes)[:, :, 10]               # (2, C, K)
        mixed = torch.logsumexp(prior.class_belief(codes, 10).log()[:, :, None] + lp, dim=1)
        assert torch.allclose(mixed, prior.logits(codes)[:, :, 1, 3], atol=1e-5)


def test_one_images_likelihood_carries_the_heads_posterior() -> None:
    """The Likelihood panel's single image: p(c | z) of the class heads beside log p(z)."""
    from explorer.core.anomaly import image_likelihood
    bundle = make_bundle()
    bundle.prior = tiny(classes=10, num_codes=16)
    image = torch.rand(1, 28, 28)
    r = image_likelihood(bundle.vqvae, bundle.prior, image)
    codes = torch.from_numpy(r.codes)[None]
    with torch.no_grad():
        expected = torch.softmax(bundle.prior.log_pi() - bundle.prior.nll_per_class(codes), 1)[0]
        assert r.nll == pytest.approx(-bundle.prior.log_prob(codes).item(), rel=1e-4)
    assert r.head_posterior.shape == (10,) and r.head_posterior.sum() == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose(torch.from_numpy(r.head_posterior), expected, atol=1e-5)
    assert r.class_nll is None                                                    # still an unconditional prior
