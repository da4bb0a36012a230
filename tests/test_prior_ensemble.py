"""PriorEnsemble: p(z_ij | z_<ij) = (1/M) sum_m p_m(z_ij | z_<ij) is again an exact autoregressive prior."""
from __future__ import annotations

import itertools

import pytest
import torch

from explorer.core.models.ensemble import PriorEnsemble
from explorer.core.models.pixelcnn import GatedPixelCNN
from explorer.core.models.prior import PriorConfig, build_prior
from prior_helpers import randomize_positional_biases

SMALL = dict(num_codes=6, height=4, width=4, channels=16, layers=2, kernel_size=3, first_kernel=3,
             head_channels=16, dropout=0.1)


def _member(kind: str, seed: int, **overrides) -> torch.nn.Module:
    torch.manual_seed(seed)
    prior = build_prior(PriorConfig(kind=kind, **{**SMALL, **overrides}))
    with torch.no_grad():
        prior.head2.weight.mul_(4.0)          # sharp, different conditionals: the mixture matters
    randomize_positional_biases(prior, seed)
    return prior.eval()


def _ensemble(kind: str, members: int = 2, **overrides) -> tuple[PriorEnsemble, list[torch.nn.Module]]:
    parts = [_member(kind, seed, **overrides) for seed in range(members)]
    return PriorEnsemble.of(parts).eval(), parts


def _codes(n: int, seed: int = 0, k: int = SMALL["num_codes"]) -> torch.Tensor:
    return torch.randint(0, k, (n, SMALL["height"], SMALL["width"]), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kind", ["plain", "gated"])
def test_conditionals_are_the_members_average(kind: str) -> None:
    ensemble, parts = _ensemble(kind, members=3)
    codes = _codes(5)
    with torch.no_grad():
        mixed = ensemble.logits(codes).exp()                                       # (B, K, H, W)
        average = torch.stack([p.logits(codes).softmax(1) for p in parts]).mean(0)
    torch.testing.assert_close(mixed, average, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mixed.sum(1), torch.ones(5, 4, 4))


@pytest.mark.parametrize("kind", ["plain", "gated"])
def test_likelihood_sums_to_one_over_all_grids(kind: str) -> None:
    """sum_z p(z) = 1 over all K^(H W) grids: the mixed conditionals form a normalised joint."""
    ensemble, _ = _ensemble(kind, num_codes=3, height=2, width=3)
    grids = torch.tensor(list(itertools.product(range(3), repeat=6))).view(-1, 2, 3)
    with torch.no_grad():
        total = ensemble.log_prob(grids).double().exp().sum()
    assert total.item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("kind", ["plain", "gated"])
def test_a_position_never_sees_itself_or_later_codes(kind: str) -> None:
    ensemble, _ = _ensemble(kind)
    codes = _codes(4, seed=1)
    h, w = codes.shape[1:]
    with torch.no_grad():
        base = ensemble.logits(codes)
        for i, j in itertools.product(range(h), range(w)):
            changed = codes.clone().view(4, -1)
            t = i * w + j
            changed[:, t:] = (changed[:, t:] + 1 + torch.arange(h * w - t)) % SMALL["num_codes"]
            other = ensemble.logits(changed.view(4, h, w))
            torch.testing.assert_close(other[:, :, i, j], base[:, :, i, j], rtol=0, atol=1e-6)
            if j + 1 < w:                                         # while its right neighbour sees it
                assert not torch.allclose(other[:, :, i, j + 1], base[:, :, i, j + 1])


@pytest.mark.parametrize("method", ["fast", "naive"])
def test_log_prob_is_the_sum_of_the_samplers_conditionals(method: str) -> None:
    ensemble, _ = _ensemble("gated", num_classes=3)
    codes, labels = _codes(3, seed=2), torch.tensor([0, 2, 1])
    total = torch.zeros(3, dtype=torch.float64)
    for step in ensemble.steps(3, given=codes, mask=torch.zeros(4, 4, dtype=torch.bool), labels=labels,
                               method=method):
        i, j = step.position
        total += step.probs[torch.arange(3), codes[:, i, j]].double().log()
    torch.testing.assert_close(ensemble.log_prob(codes, labels).double(), total, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("kind", ["plain", "gated"])
def test_log_likelihood_is_at_least_the_members_mean(kind: str) -> None:
    """log mean_m p_m >= mean_m log p_m at every position (Jensen), so per grid as well."""
    ensemble, parts = _ensemble(kind, members=3)
    codes = _codes(16, seed=3)
    with torch.no_grad():
        mixed = ensemble.log_prob(codes)
        members = torch.stack([p.log_prob(codes) for p in parts])                  # (M, B)
    assert (mixed >= members.mean(0) - 1e-4).all()
    assert (mixed > members.min(0).values).all()


@pytest.mark.parametrize("kind", ["plain", "gated"])
def test_fast_sampler_equals_naive_sampler(kind: str) -> None:
    ensemble, _ = _ensemble(kind, num_classes=2)
    given = _codes(1, seed=4)[0]
    given[1:3, 1:] = -1                                                             # inpaint a hole
    for kw in (dict(temperature=1.0), dict(temperature=0.7, top_k=3), dict(given=given)):
        fast = ensemble.sample(4, generator=torch.Generator().manual_seed(9), labels=1, method="fast", **kw)
        naive = ensemble.sample(4, generator=torch.Generator().manual_seed(9), labels=1, method="naive", **kw)
        assert torch.equal(fast, naive), kw


def test_of_copies_flattens_and_checks_the_architecture() -> None:
    a, b, c = (_member("gated", seed) for seed in range(3))
    c.set_dropout(0.3)                                      # dropout is training only: may differ
    pair = PriorEnsemble.of([a, b])
    trio = PriorEnsemble.of([pair, c])
    assert trio.config.members == 3 and all(isinstance(m, GatedPixelCNN) for m in trio.members)
    assert trio.config.dropout == a.config.dropout
    for slot, source in zip(trio.members, (a, b, c)):
        assert all(torch.equal(x, y) for x, y in zip(slot.state_dict().values(), source.state_dict().values()))
    with torch.no_grad():
        a.head2.bias.add_(1.0)                              # the ensemble holds copies
    assert not torch.equal(trio.members[0].head2.bias, a.head2.bias)
    with pytest.raises(ValueError, match="architecture"):
        PriorEnsemble.of([a, _member("gated", 5, channels=8)])
    with pytest.raises(ValueError, match="architecture"):
        PriorEnsemble.of([a, _member("plain", 5)])
    with pytest.raises(ValueError, match="two"):
        PriorEnsemble.of([a])


def test_config_builds_an_ensemble() -> None:
    prior = build_prior(PriorConfig(**SMALL, members=3))
    assert isinstance(prior, PriorEnsemble) and len(prior.members) == 3
    assert all(m.config.members == 1 for m in prior.members)
    assert PriorConfig().members == 1
    assert prior.config.describe() == "ensemble of 3 gated PixelCNNs"
    assert prior.members[0].config.describe() == "gated PixelCNN"
    with pytest.raises(ValueError):
        PriorConfig(members=0)
