"""Gumbel-Softmax (notes, "Gumbel Softmax").

    y_k = exp((log pi_k + g_k) / tau) / sum_j exp((log pi_j + g_j) / tau),  g = -log(-log U)

Gumbel-max: argmax_k (log pi_k + g_k) ~ Cat(pi). Straight-through hard samples: one-hot
forward, the soft sample's gradient backward.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from explorer.core.models.gumbel import gumbel_softmax, sample_gumbel
from explorer.core.models.quantizers import GumbelQuantizer, QuantizerOutput, gumbel_temperature
from explorer.core.models.vqvae import VQVAE, VQVAEConfig

# chi-square 0.999 quantile for 4 degrees of freedom (K = 5 categories)
CHI2_999_DOF4 = 18.467
EULER_GAMMA = 0.5772156649


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_soft_sample_is_the_notes_formula() -> None:
    logits = torch.randn(6, 5, generator=_gen(0))
    g = sample_gumbel(logits.shape, generator=_gen(1))
    for tau in (0.1, 0.5, 1.0, 4.0):
        y = gumbel_softmax(logits, tau, noise=g)
        ref = torch.exp((logits + g) / tau) / torch.exp((logits + g) / tau).sum(-1, keepdim=True)
        torch.testing.assert_close(y, ref)
        torch.testing.assert_close(y.sum(-1), torch.ones(6))
    # any constant added to the logits (log pi vs unnormalised logits) cancels
    torch.testing.assert_close(gumbel_softmax(logits + 3.0, 0.7, noise=g), gumbel_softmax(logits, 0.7, noise=g))


def test_hard_sample_is_exactly_one_hot_with_the_soft_gradient() -> None:
    logits = torch.randn(64, 7, generator=_gen(2))
    g = sample_gumbel(logits.shape, generator=_gen(3))
    w = torch.randn(64, 7, generator=_gen(4))
    for tau in (0.05, 0.5, 1.0, 3.0):
        lh = logits.clone().requires_grad_(True)
        ls = logits.clone().requires_grad_(True)
        hard = gumbel_softmax(lh, tau, hard=True, noise=g)
        soft = gumbel_softmax(ls, tau, hard=False, noise=g)
        one_hot = F.one_hot((logits + g).argmax(-1), 7).float()
        assert torch.equal(hard, one_hot)                      # forward: exactly one-hot, at argmax(l + g)
        (hard * w).sum().backward()
        (soft * w).sum().backward()
        assert lh.grad.abs().sum() > 0
        assert torch.equal(lh.grad, ls.grad)                   # backward: the soft sample's gradient


def test_hard_sample_along_another_dim() -> None:
    logits = torch.randn(2, 5, 3, 3, generator=_gen(5))
    y = gumbel_softmax(logits, 0.5, hard=True, dim=1, generator=_gen(6))
    assert torch.equal(y.sum(1), torch.ones(2, 3, 3))
    assert set(y.unique().tolist()) == {0.0, 1.0}


def test_sample_gumbel_moments_and_range() -> None:
    """Gumbel(0, 1): mean = Euler's gamma, variance = pi^2 / 6."""
    g = sample_gumbel((20000,), generator=_gen(7))
    assert torch.isfinite(g).all()
    assert g.mean().item() == pytest.approx(EULER_GAMMA, abs=0.05)      # std of the mean ~ 0.009
    assert g.var().item() == pytest.approx(math.pi ** 2 / 6, abs=0.12)   # std of the variance ~ 0.03
    # CDF exp(-exp(-x)) at a few points
    for x in (-1.0, 0.0, 1.0, 2.5):
        assert (g <= x).double().mean().item() == pytest.approx(math.exp(-math.exp(-x)), abs=0.015)


@pytest.mark.parametrize("via", ["gumbel_max", "hard_sample"])
def test_gumbel_max_frequencies_match_softmax(via: str) -> None:
    """argmax(logits + g) ~ Cat(softmax(logits)): chi-square on 20 000 draws, K = 5."""
    logits = torch.tensor([1.0, 0.0, -1.0, 0.5, -2.0])
    n = 20000
    if via == "gumbel_max":
        choice = (logits + sample_gumbel((n, 5), generator=_gen(8))).argmax(-1)
    else:
        choice = gumbel_softmax(logits.expand(n, 5), 0.3, hard=True, generator=_gen(9)).argmax(-1)
    observed = torch.bincount(choice, minlength=5).double()
    expected = n * torch.softmax(logits.double(), 0)
    chi2 = ((observed - expected) ** 2 / expected).sum().item()
    assert chi2 < CHI2_999_DOF4, f"chi-square {chi2:.2f} with 4 dof"
    # power check: the same counts reject the uniform distribution overwhelmingly
    uniform = torch.full((5,), n / 5, dtype=torch.float64)
    assert ((observed - uniform) ** 2 / uniform).sum().item() > 100 * CHI2_999_DOF4


def test_seeded_generator_is_reproducible() -> None:
    logits = torch.randn(10, 4, generator=_gen(10))
    a = gumbel_softmax(logits, 0.5, generator=_gen(42))
    b = gumbel_softmax(logits, 0.5, generator=_gen(42))
    c = gumbel_softmax(logits, 0.5, generator=_gen(43))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(sample_gumbel((3, 3), generator=_gen(1)), sample_gumbel((3, 3), generator=_gen(1)))


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("tau", [0.01, 0.1, 1.0])
def test_extreme_logits_and_small_tau_stay_finite(hard: bool, tau: float) -> None:
    inf = float("inf")
    logits = torch.tensor([[1e4, -1e4, 0.0, 3.0],
                           [-inf, 2.0, -inf, 1.0],
                           [-1e4, -1e4, -1e4, -1e4],
                           [1e4, 1e4 - 1.0, -inf, 5.0]], requires_grad=True)
    y = gumbel_softmax(logits, tau, hard=hard, generator=_gen(11))
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y.sum(-1), torch.ones(4))
    assert y[1, 0] == 0 and y[1, 2] == 0 and y[3, 2] == 0          # -inf logits: probability 0
    assert y[0].argmax() == 0                                       # +1e4 dominates any Gumbel noise
    (y * torch.randn(4, 4, generator=_gen(12))).sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_temperature_limits() -> None:
    """tau -> 0: one-hot; tau -> infinity: uniform (notes' example)."""
    logits = torch.log(torch.tensor([[0.6, 0.1, 0.3]])).expand(500, 3)
    g = sample_gumbel(logits.shape, generator=_gen(13))
    cold = gumbel_softmax(logits, 0.01, noise=g)
    assert (cold.max(-1).values > 0.99).float().mean() > 0.95
    hot = gumbel_softmax(logits, 1000.0, noise=g)
    torch.testing.assert_close(hot, torch.full_like(hot, 1 / 3), atol=0.01, rtol=0)
    with pytest.raises(ValueError):
        gumbel_softmax(logits, 0.0)


# --------------------------------------------------------------------------------------
# the Gumbel bottleneck inside the VQ-VAE
# --------------------------------------------------------------------------------------
SMALL = dict(hidden_channels=16, res_channels=8, res_blocks=1, num_codes=12, code_dim=4)


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_vqvae_training_step_changes_every_part(hard: bool) -> None:
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(quantizer="gumbel", gumbel_hard=hard, **SMALL)).train()
    assert isinstance(model.quantizer, GumbelQuantizer)
    x = torch.rand(8, 1, 28, 28, generator=_gen(14))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    out = model(x)
    assert out.quant.kl_loss.item() >= 0.0
    assert torch.isfinite(out.loss)
    opt.zero_grad()
    out.loss.backward()
    opt.step()
    for part in ("encoder", "decoder", "quantizer.codebook"):
        changed = [n for n, p in model.named_parameters() if n.startswith(part) and not torch.equal(p, before[n])]
        assert changed, f"{part} did not change after one step"


def test_gumbel_output_has_the_vq_fields_and_a_correct_kl() -> None:
    torch.manual_seed(0)
    gumbel = VQVAE(VQVAEConfig(quantizer="gumbel", **SMALL)).train()
    vq = VQVAE(VQVAEConfig(**SMALL)).train()
    x = torch.rand(4, 1, 28, 28, generator=_gen(15))
    qg, qv = gumbel(x).quant, vq(x).quant
    assert isinstance(qg, QuantizerOutput) and isinstance(qv, QuantizerOutput)
    for name in ("quantized", "indices", "codebook_loss", "commitment_loss", "kl_loss", "perplexity", "usage",
                 "counts"):
        a, b = getattr(qg, name), getattr(qv, name)
        assert a.shape == b.shape and a.dtype == b.dtype, name
    k = 12
    assert qg.indices.min() >= 0 and qg.indices.max() < k
    assert int(qg.counts.sum()) == 4 * 7 * 7
    assert 1.0 <= qg.perplexity.item() <= k + 1e-4
    # KL(q || uniform) = sum_k q_k log(K q_k) with q = softmax(logits), averaged over positions
    logits = gumbel.encoder(x)
    q = torch.softmax(logits, 1)
    kl = (q * torch.log(k * q)).sum(1).mean()
    assert kl.item() >= 0.0
    assert qg.kl_loss.item() == pytest.approx(gumbel.config.gumbel_kl_weight * kl.item(), rel=1e-4)
    # uniform logits give KL = 0
    zero = gumbel.quantizer(torch.zeros(1, k, 2, 2)).kl_loss
    assert abs(zero.item()) < 1e-9


def test_gumbel_eval_mode_is_the_argmax_code() -> None:
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(quantizer="gumbel", **SMALL)).eval()
    x = torch.rand(3, 1, 28, 28, generator=_gen(16))
    out = model(x)
    idx = model.encoder(x).argmax(1)
    assert torch.equal(out.quant.indices, idx)
    torch.testing.assert_close(out.quant.quantized, model.codebook[idx].permute(0, 3, 1, 2), rtol=0, atol=1e-6)
    assert torch.equal(model.encode(x), idx)
    torch.testing.assert_close(model.decode(idx), out.reconstruction, rtol=1e-5, atol=1e-6)


def test_gumbel_temperature_anneals_to_its_floor() -> None:
    taus = [gumbel_temperature(s, 1.0, 0.1, 1e-3) for s in range(0, 5000, 50)]
    assert taus[0] == 1.0
    assert all(b <= a for a, b in zip(taus, taus[1:]))
    assert min(taus) == 0.1 and all(t >= 0.1 for t in taus)
    above = [t for t in taus if t > 0.1]
    assert all(b < a for a, b in zip(above, above[1:]))             # strictly decreasing until the floor
    assert gumbel_temperature(100, 2.0, 0.1, 1e-3) == pytest.approx(2.0 * math.exp(-0.1))
    assert gumbel_temperature(10 ** 7, 1.0, 0.25, 1e-3) == 0.25
    # the model follows the schedule through set_step
    model = VQVAE(VQVAEConfig(quantizer="gumbel", tau_start=1.0, tau_min=0.2, tau_rate=1e-3, **SMALL))
    model.set_step(1000)
    assert model.quantizer.tau == pytest.approx(math.exp(-1.0))
    model.set_step(10 ** 6)
    assert model.quantizer.tau == 0.2
