"""Raster-order sampling (notes, "PixelCNN: Inference"): z_ij ~ Cat(pi(z_<ij)) row by row.

The fast sampler (cached activations, one position at a time) must return exactly what the
naive one (a full forward pass per position) returns for the same random stream, and both
must sample from the joint the prior's log_prob describes.
"""
from __future__ import annotations

import itertools

import pytest
import torch

from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.sampling import RasterSampler, conditional_probs, draw
from prior_helpers import randomize_positional_biases

# chi-square 0.999 quantile for 15 degrees of freedom (2 x 2 grid of K = 2 codes: 16 outcomes)
CHI2_999_DOF15 = 37.697


def _prior(kind: str, **overrides):
    cfg = dict(kind=kind, num_codes=12, height=6, width=6, channels=24, layers=3, kernel_size=3,
               first_kernel=5, head_channels=32, dropout=0.1)
    cfg.update(overrides)
    torch.manual_seed(0)
    prior = build_prior(PriorConfig(**cfg))
    with torch.no_grad():            # sharper conditionals than at init, so sampling matters
        prior.head2.weight.mul_(4.0)
    randomize_positional_biases(prior)
    return prior


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("kind", ["plain", "gated"])
@pytest.mark.parametrize("temperature,top_k", [(1.0, None), (0.6, None), (1.7, 4), (0.8, 1)])
def test_fast_sampler_equals_naive_sampler(kind: str, temperature: float, top_k: int | None) -> None:
    prior = _prior(kind)
    fast = prior.sample(5, temperature=temperature, top_k=top_k, generator=_gen(7), method="fast")
    naive = prior.sample(5, temperature=temperature, top_k=top_k, generator=_gen(7), method="naive")
    assert fast.dtype == torch.long and fast.shape == (5, 6, 6)
    assert torch.equal(fast, naive)
    assert len(fast.unique()) > 1 or top_k == 1


@pytest.mark.parametrize("kind", ["plain", "gated"])
@pytest.mark.parametrize("positional", [False, True])
def test_fast_equals_naive_with_class_labels_and_inpainting(kind: str, positional: bool) -> None:
    prior = _prior(kind, num_classes=4, positional=positional)
    given = torch.randint(0, 12, (6, 6), generator=_gen(1))
    given[2:4, 1:5] = -1                                            # sample the hole only
    kw = dict(temperature=0.9, top_k=6, given=given, labels=torch.tensor([0, 1, 2, 3]))
    fast = prior.sample(4, generator=_gen(3), method="fast", **kw)
    naive = prior.sample(4, generator=_gen(3), method="naive", **kw)
    assert torch.equal(fast, naive)


@pytest.mark.parametrize("method", ["fast", "naive"])
def test_sample_returns_the_grid_the_recorded_steps_end_on(method: str) -> None:
    """sample() skips the per-step copies steps() makes for the panel; the draws must not change."""
    prior = _prior("gated", num_classes=3)
    given = torch.randint(0, 12, (6, 6), generator=_gen(4))
    given[1:5, 2:4] = -1
    for kw in ({}, {"temperature": 1.0, "top_k": 5}, {"temperature": 0.7, "given": given}):
        kw = {"labels": torch.tensor([0, 1, 2]), **kw}
        grid = RasterSampler(prior, method).sample(3, generator=_gen(9), **kw)
        steps = list(RasterSampler(prior, method).steps(3, generator=_gen(9), **kw))
        assert torch.equal(grid, steps[-1].grid)
        assert all(step.log_probs is not None for step in steps)


def test_training_mode_is_restored_and_dropout_does_not_affect_sampling() -> None:
    prior = _prior("gated").train()
    a = prior.sample(3, generator=_gen(2))
    assert prior.training
    b = prior.sample(3, generator=_gen(2))
    assert torch.equal(a, b)


def test_same_seed_same_samples_different_seed_different_samples() -> None:
    prior = _prior("plain")
    a = prior.sample(4, generator=_gen(11))
    assert torch.equal(a, prior.sample(4, generator=_gen(11)))
    assert not torch.equal(a, prior.sample(4, generator=_gen(12)))


@pytest.mark.parametrize("kind", ["plain", "gated"])
def test_samples_follow_the_joint_given_by_log_prob(kind: str) -> None:
    """Chi-square goodness of fit of 4000 sampled 2 x 2 grids (K = 2) against exp(log_prob)."""
    prior = _prior(kind, num_codes=2, height=2, width=2, first_kernel=3)
    grids = torch.tensor(list(itertools.product(range(2), repeat=4))).view(16, 2, 2)
    prior.eval()
    with torch.no_grad():
        p = prior.log_prob(grids).double().exp()
    assert p.sum().item() == pytest.approx(1.0, abs=1e-6)
    n = 4000
    samples = prior.sample(n, generator=_gen(0))
    index = (samples.view(n, 4) * torch.tensor([8, 4, 2, 1])).sum(1)     # grid -> outcome number
    observed = torch.bincount(index, minlength=16).double()
    expected = n * p
    assert expected.min() > 5
    chi2 = ((observed - expected) ** 2 / expected).sum().item()
    assert chi2 < CHI2_999_DOF15, f"chi-square {chi2:.1f}"
    # the test has power: the same counts are far from the uniform distribution
    uniform = torch.full((16,), n / 16, dtype=torch.float64)
    assert ((observed - uniform) ** 2 / uniform).sum().item() > 3 * CHI2_999_DOF15


@pytest.mark.parametrize("method", ["fast", "naive"])
def test_steps_probabilities_are_the_teacher_forced_conditionals(method: str) -> None:
    """At every step, probs = softmax(logits / T) restricted to top-k, where the logits are the
    teacher-forced ones of the final grid at (i, j) (they only depend on earlier codes)."""
    prior = _prior("gated")
    prior.eval()
    temperature, top_k = 0.7, 5
    steps = list(prior.steps(3, temperature=temperature, top_k=top_k, generator=_gen(4), method=method))
    final = steps[-1].grid
    with torch.no_grad():
        logits = prior.logits(final)                                   # (n, K, H, W)
    for step in steps:
        i, j = step.position
        ref = torch.softmax(logits[:, :, i, j] / temperature, dim=1)
        kth = logits[:, :, i, j].topk(top_k, dim=1).values[:, -1:]
        ref = torch.where(logits[:, :, i, j] >= kth, ref, torch.zeros_like(ref))
        ref = ref / ref.sum(1, keepdim=True)
        torch.testing.assert_close(step.probs, ref, rtol=1e-4, atol=1e-6)
        assert ((step.probs > 0).sum(1) == top_k).all()
        assert (step.probs[torch.arange(3), step.chosen] > 0).all()     # never draws outside the top-k


@pytest.mark.parametrize("method", ["fast", "naive"])
def test_raster_steps_visit_positions_in_order_and_change_one_cell_each(method: str) -> None:
    prior = _prior("plain")
    h, w = 6, 6
    given = torch.randint(0, 12, (h, w), generator=_gen(8))
    mask = torch.rand(h, w, generator=_gen(9)) < 0.5
    previous = given.expand(2, h, w).clone()                 # the grid starts as the given codes
    steps = list(prior.steps(2, generator=_gen(5), given=given, mask=mask, method=method))
    assert [s.position for s in steps] == [(i, j) for i in range(h) for j in range(w)]
    assert [s.t for s in steps] == list(range(h * w))
    for s in steps:
        i, j = s.position
        changed = (s.grid != previous).any(0)
        changed[i, j] = False
        assert not changed.any(), f"step {s.position} changed another cell"
        assert torch.equal(s.grid[:, i, j], s.chosen)
        assert torch.equal(s.sampled, mask[i, j].expand(2))
        assert s.probs.shape == (2, 12)
        previous = s.grid
    # sample() returns the last step's grid
    assert torch.equal(steps[-1].grid, prior.sample(2, generator=_gen(5), given=given, mask=mask, method=method))


@pytest.mark.parametrize("kind", ["plain", "gated"])
@pytest.mark.parametrize("method", ["fast", "naive"])
def test_inpainting_never_changes_a_given_code(kind: str, method: str) -> None:
    prior = _prior(kind)
    given = torch.randint(0, 12, (3, 6, 6), generator=_gen(10))
    mask = torch.zeros(6, 6, dtype=torch.bool)
    mask[1:4, 2:6] = True
    out = prior.sample(3, temperature=1.5, generator=_gen(1), given=given, mask=mask, method=method)
    assert torch.equal(out[:, ~mask], given[:, ~mask])
    assert not torch.equal(out[:, mask], given[:, mask])                # the hole was resampled
    # negative entries in ``given`` mean "sample here" when no mask is passed
    holed = given.clone()
    holed[:, 0, :3] = -1
    holed[:, 5, 4] = -7
    out = prior.sample(3, temperature=1.5, generator=_gen(2), given=holed, method=method)
    keep = holed >= 0
    assert torch.equal(out[keep], holed[keep])
    assert ((out >= 0) & (out < 12)).all()
    # an all-False mask returns the given grid unchanged
    out = prior.sample(3, generator=_gen(3), given=given, mask=torch.zeros(6, 6, dtype=torch.bool), method=method)
    assert torch.equal(out, given)


def test_inpainting_rejects_inconsistent_requests() -> None:
    prior = _prior("gated")
    given = torch.zeros(6, 6, dtype=torch.long)
    given[0, 0] = -1
    with pytest.raises(ValueError):        # a negative code where nothing is sampled
        prior.sample(1, given=given, mask=torch.zeros(6, 6, dtype=torch.bool))
    with pytest.raises(ValueError):        # a code outside [0, K)
        prior.sample(1, given=torch.full((6, 6), 12))
    with pytest.raises(ValueError):
        RasterSampler(prior, "beam")


def test_conditional_probs_temperature_and_top_k() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0, 0.5]])
    p = torch.softmax(logits, 1)
    for t in (0.25, 1.0, 3.0):
        # softmax(l / T) is p^(1/T) renormalised
        ref = p ** (1 / t) / (p ** (1 / t)).sum()
        torch.testing.assert_close(conditional_probs(logits, t), ref)
    top2 = conditional_probs(logits, 1.0, top_k=2)
    torch.testing.assert_close(top2, torch.tensor([[p[0, 0] / (p[0, 0] + p[0, 1]), p[0, 1] / (p[0, 0] + p[0, 1]),
                                                    0.0, 0.0, 0.0]]))
    assert torch.equal(conditional_probs(logits, 0.0), torch.tensor([[1.0, 0, 0, 0, 0]]))     # greedy


def test_inverse_cdf_draw() -> None:
    probs = torch.tensor([[0.2, 0.0, 0.5, 0.3]]).expand(6, 4)
    u = torch.tensor([1e-9, 0.2, 0.2001, 0.7, 0.7001, 1.0])
    assert draw(probs, u).tolist() == [0, 0, 2, 2, 3, 3]       # zero-probability code 1 never drawn


def test_greedy_sampling_follows_the_argmax_chain() -> None:
    prior = _prior("gated")
    prior.eval()
    out = prior.sample(2, temperature=0.0, generator=_gen(0))
    with torch.no_grad():
        assert torch.equal(prior.logits(out).argmax(1), out)
