"""Causal masks, receptive fields and exact likelihoods of the PixelCNN priors.

Notes, "PixelCNN" and "Causal convolutions": p(z) = prod_{i,j} p(z_ij | z_<ij), where the
logits at (i, j) may depend only on codes at earlier raster positions (row by row, left to
right). Checked here as gradients: d logits[:, :, i, j] / d e[:, :, i', j'] must be exactly zero
at (i, j) itself and at every later position.
"""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from explorer.core.models.masked_conv import MaskedConv2d, causal_mask
from explorer.core.models.pixelcnn import GatedPixelCNN, PixelCNN
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.transformer_prior import TransformerPrior
from prior_helpers import randomize_positional_biases


def _prior(kind: str, **overrides) -> torch.nn.Module:
    cfg = dict(kind=kind, num_codes=8, height=5, width=5, channels=32, layers=4, kernel_size=3,
               first_kernel=3, head_channels=32, dropout=0.1)
    cfg.update(overrides)
    torch.manual_seed(0)
    prior = build_prior(PriorConfig(**cfg)).eval()    # eval: dropout off
    randomize_positional_biases(prior)
    return prior


# --------------------------------------------------------------------------------------
# causal_mask
# --------------------------------------------------------------------------------------
def test_causal_masks_3x3_explicit() -> None:
    expected = {
        "A": [[1, 1, 1], [1, 0, 0], [0, 0, 0]],
        "B": [[1, 1, 1], [1, 1, 0], [0, 0, 0]],
        "VA": [[1, 1, 1], [0, 0, 0], [0, 0, 0]],
        "VB": [[1, 1, 1], [1, 1, 1], [0, 0, 0]],
    }
    for kind, rows in expected.items():
        assert torch.equal(causal_mask((3, 3), kind), torch.tensor(rows, dtype=torch.float32)), kind
    # the horizontal stack's 1 x k kernels: strictly left (A) or left plus centre (B)
    assert torch.equal(causal_mask((1, 5), "A"), torch.tensor([[1.0, 1, 0, 0, 0]]))
    assert torch.equal(causal_mask((1, 5), "B"), torch.tensor([[1.0, 1, 1, 0, 0]]))


@pytest.mark.parametrize("size", [(3, 3), (5, 5), (7, 7), (3, 5), (1, 3), (5, 1)])
def test_causal_masks_follow_raster_order(size: tuple[int, int]) -> None:
    """A: taps strictly before the centre in raster order; B: up to and including it;
    VA: rows strictly above; VB: rows up to and including the centre row."""
    kh, kw = size
    ci, cj = kh // 2, kw // 2
    centre = ci * kw + cj
    for r, c in itertools.product(range(kh), range(kw)):
        t = r * kw + c
        assert causal_mask(size, "A")[r, c] == float(t < centre)
        assert causal_mask(size, "B")[r, c] == float(t <= centre)
        assert causal_mask(size, "VA")[r, c] == float(r < ci)
        assert causal_mask(size, "VB")[r, c] == float(r <= ci)


def test_causal_mask_rejects_unknown_type_and_even_kernels() -> None:
    with pytest.raises(ValueError):
        causal_mask((3, 3), "C")
    with pytest.raises(ValueError):
        MaskedConv2d(2, 2, 4, "A")


def test_masked_conv_ignores_masked_taps_and_matches_its_incremental_forms() -> None:
    torch.manual_seed(0)
    conv = MaskedConv2d(3, 4, 5, "A")
    x = torch.randn(2, 3, 6, 6)
    full = conv(x)
    # changing the current and every later position never changes the output at (i, j)
    i, j = 2, 3
    y = x.clone()
    y[:, :, i, j:] = torch.randn_like(y[:, :, i, j:])
    y[:, :, i + 1:, :] = torch.randn_like(y[:, :, i + 1:, :])
    assert torch.equal(conv(y)[:, :, i, j], full[:, :, i, j])
    padded = F.pad(x, (2, 2, 2, 2))
    torch.testing.assert_close(conv.at(padded, i, j), full[:, :, i, j], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(conv.row(padded, i), full[:, :, i, :], rtol=1e-5, atol=1e-6)


def test_incremental_form_follows_weight_updates_and_moves() -> None:
    """at() caches the masked kernel for sampling; an optimiser step or a load must refresh it."""
    torch.manual_seed(0)
    conv = MaskedConv2d(3, 4, 3, "B")
    padded = F.pad(torch.randn(2, 3, 5, 5), (1, 1, 1, 1))
    with torch.no_grad():
        before = conv.at(padded, 2, 2)
    opt = torch.optim.SGD(conv.parameters(), lr=0.5)
    conv(torch.randn(2, 3, 5, 5)).square().sum().backward()
    opt.step()                                             # in-place update of the same storage
    with torch.no_grad():
        after = conv.at(padded, 2, 2)
        assert not torch.equal(before, after)
        torch.testing.assert_close(after, conv(padded[:, :, 1:-1, 1:-1])[:, :, 2, 2], rtol=1e-5, atol=1e-6)
        conv.load_state_dict({k: torch.zeros_like(v) if k == "weight" else v for k, v in conv.state_dict().items()})
        torch.testing.assert_close(conv.at(padded, 2, 2), conv.bias.expand(2, 4))
        conv.double()                                      # a move to another dtype
        torch.testing.assert_close(conv.at(padded.double(), 2, 2), conv.bias.expand(2, 4))
    conv.weight.grad = None
    out = conv.at(padded.double(), 2, 2)                   # with autograd: differentiable, not cached
    out.sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad[:, :, 2, :].abs().sum() == 0   # masked taps


# --------------------------------------------------------------------------------------
# receptive fields as gradients
# --------------------------------------------------------------------------------------
def _influence(prior, labels=None, batch: int = 3) -> dict[tuple[int, int], torch.Tensor]:
    """For each output position: a (H, W) bool map of input positions with a non-zero gradient."""
    c = prior.config
    torch.manual_seed(1)
    e = torch.randn(batch, c.channels, c.height, c.width, requires_grad=True)
    logits = prior.logits_from_embedding(e, labels)
    w = torch.randn(batch, c.num_codes)             # random read-out: no accidental cancellation
    maps = {}
    for i, j in itertools.product(range(c.height), range(c.width)):
        (g,) = torch.autograd.grad((logits[:, :, i, j] * w).sum(), e, retain_graph=True)
        maps[(i, j)] = g.abs().sum((0, 1)) != 0
    return maps


def _earlier(i: int, j: int, h: int, w: int) -> set[tuple[int, int]]:
    return {(a, b) for a, b in itertools.product(range(h), range(w)) if a * w + b < i * w + j}


def _plain_reachable(i: int, j: int, cfg: PriorConfig) -> set[tuple[int, int]]:
    """Input positions connected to output (i, j) of the plain stack, from the mask geometry.

    Walk down from the output: each type-B block lets a feature at p read p + o for every
    tap o of the B mask (the residual adds o = (0, 0), already a B tap); the type-A first
    layer then reads p + o for the A taps. Feature maps are zero-padded, so every
    intermediate position must lie inside the grid.
    """
    def taps(size: int, kind: str) -> list[tuple[int, int]]:
        m = causal_mask((size, size), kind)
        return [(int(r) - size // 2, int(c) - size // 2) for r, c in torch.nonzero(m)]

    inside = lambda p: 0 <= p[0] < cfg.height and 0 <= p[1] < cfg.width  # noqa: E731
    front = {(i, j)}
    for _ in range(cfg.layers):
        front = {(p[0] + dr, p[1] + dc) for p in front for dr, dc in taps(cfg.kernel_size, "B")}
        front = {p for p in front if inside(p)}
    first = {(p[0] + dr, p[1] + dc) for p in front for dr, dc in taps(cfg.first_kernel, "A")}
    return {p for p in first if inside(p)}


def _closed_form_blind_spot(i: int, j: int, cfg: PriorConfig) -> set[tuple[int, int]]:
    """The plain stack's blind spot, derived by hand.

    With first-layer radius a = first_kernel // 2, block radius b = kernel_size // 2 and L
    blocks, a path that climbs r >= 1 rows gains at most a columns to the right in the
    type-A layer (which must climb >= 1 row to look right) plus b per block that climbs (a
    block that stays in the current row can only look left). So the right-most column seen
    r rows up is j + a + b * min(r - 1, L): every earlier position further right than that,
    i.e. up and to the right of the current position, is invisible. (For the configurations
    below the left and upward reach a + b L covers the whole grid, so nothing else is missed.)
    """
    a, b, L = cfg.first_kernel // 2, cfg.kernel_size // 2, cfg.layers
    return {(i - r, jj) for r in range(1, i + 1) for jj in range(cfg.width) if jj - j > a + b * min(r - 1, L)}


@pytest.mark.parametrize("kind", ["plain", "gated"])
@pytest.mark.parametrize("size", [5, 7])
@pytest.mark.parametrize("positional", [False, True])
def test_logits_never_see_the_current_or_a_later_position(kind: str, size: int, positional: bool) -> None:
    prior = _prior(kind, height=size, width=size, layers=6 if size == 7 else 4, positional=positional)
    maps = _influence(prior)
    for (i, j), seen in maps.items():
        later = [(a, b) for a, b in itertools.product(range(size), range(size)) if a * size + b >= i * size + j]
        for pos in later:
            assert not seen[pos], f"{kind}: logits at {(i, j)} depend on input at {pos}"


@pytest.mark.parametrize("kind", ["plain", "gated"])
def test_default_size_priors_are_causal(kind: str) -> None:
    prior = _prior(kind, **{k: v for k, v in PriorConfig().to_dict().items() if k not in ("kind", "num_codes")})
    assert prior.config.height == 7 and prior.config.channels == PriorConfig().channels
    for (i, j), seen in _influence(prior, batch=1).items():
        t = i * 7 + j
        assert not seen.flatten()[t:].any(), f"{kind}: logits at {(i, j)} see the current or a later position"


def test_gated_prior_has_no_blind_spot() -> None:
    """4 layers of 3 x 3 / 1 x 3 kernels: the vertical stack reaches 4 rows up and 4 columns
    either side, the horizontal stack 4 columns left, which covers a 5 x 5 grid; every
    earlier position must then have a non-zero gradient."""
    prior = _prior("gated", height=5, width=5, layers=4)
    for (i, j), seen in _influence(prior).items():
        missing = [p for p in _earlier(i, j, 5, 5) if not seen[p]]
        assert not missing, f"gated prior at {(i, j)} does not see {missing}"


@pytest.mark.parametrize("first_kernel,layers,size,blind_from_1_0", [
    (3, 4, 5, {(0, 2), (0, 3), (0, 4)}),
    (7, 8, 7, {(0, 4), (0, 5), (0, 6)}),
])
def test_plain_prior_blind_spot_is_up_and_to_the_right(first_kernel: int, layers: int, size: int,
                                                       blind_from_1_0: set) -> None:
    """The plain masked stack misses exactly the wedge up and to the right of (i, j).

    (3, 4, 5): first kernel 3, four 3 x 3 blocks, 5 x 5 grid: invisible are the earlier
    positions (i - r, j + c) with c > r; e.g. from (1, 0) the codes (0, 2), (0, 3), (0, 4).
    (7, 8, 7): the default kernel geometry (7 x 7 type-A, eight 3 x 3 blocks) on 7 x 7:
    invisible are (i - r, j + c) with c > 3 + (r - 1) = r + 2; e.g. from (1, 0): (0, 4..6).
    """
    prior = _prior("plain", first_kernel=first_kernel, layers=layers, height=size, width=size, channels=32)
    cfg = prior.config
    blind_at = {}
    for (i, j), seen in _influence(prior).items():
        earlier = _earlier(i, j, size, size)
        blind = {p for p in earlier if not seen[p]}
        assert blind == earlier - _plain_reachable(i, j, cfg), f"at {(i, j)}: measured blind spot {sorted(blind)}"
        assert blind == _closed_form_blind_spot(i, j, cfg)
        assert all(a < i and b > j for a, b in blind), "the blind spot lies strictly up and to the right"
        blind_at[(i, j)] = blind
    assert blind_at[(1, 0)] == blind_from_1_0
    assert sum(map(len, blind_at.values())) > 0


# --------------------------------------------------------------------------------------
# exact likelihoods
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["plain", "gated"])
@pytest.mark.parametrize("method", ["fast", "naive"])
@pytest.mark.parametrize("num_classes,positional", [(0, False), (3, False), (0, True)])
def test_log_prob_is_the_sum_of_the_samplers_conditionals(kind: str, method: str, num_classes: int,
                                                         positional: bool) -> None:
    """log p(z) = sum_{i,j} log p(z_ij | z_<ij), the p(. | z_<ij) taken from the sampler's steps."""
    prior = _prior(kind, num_codes=10, height=4, width=5, num_classes=num_classes, positional=positional)
    g = torch.Generator().manual_seed(3)
    codes = torch.randint(0, 10, (3, 4, 5), generator=g)
    labels = torch.tensor([0, 2, 1]) if num_classes else None
    total = torch.zeros(3, dtype=torch.float64)
    visited = 0
    for step in prior.steps(3, given=codes, mask=torch.zeros(4, 5, dtype=torch.bool), labels=labels, method=method):
        i, j = step.position
        assert torch.equal(step.chosen, codes[:, i, j]) and not step.sampled.any()
        torch.testing.assert_close(step.probs.sum(1), torch.ones(3))
        total += step.probs[torch.arange(3), codes[:, i, j]].double().log()
        visited += 1
    assert visited == 20
    torch.testing.assert_close(prior.log_prob(codes, labels).double(), total, rtol=1e-5, atol=1e-4)


def test_class_conditioning_changes_the_likelihood() -> None:
    prior = _prior("gated", num_classes=3)
    with torch.no_grad():
        for layer in prior.layers:
            layer.class_v.weight.mul_(5.0)
            layer.class_h.weight.mul_(5.0)
    codes = torch.randint(0, 8, (1, 5, 5), generator=torch.Generator().manual_seed(0)).expand(3, 5, 5)
    lp = prior.log_prob(codes, torch.tensor([0, 1, 2]))
    assert len(set(lp.tolist())) == 3
    with pytest.raises(ValueError):
        prior.log_prob(codes)


@pytest.mark.parametrize("kind", ["plain", "gated"])
@pytest.mark.parametrize("k,side", [(3, 2), (2, 3)])
def test_likelihood_sums_to_one_over_all_grids(kind: str, k: int, side: int) -> None:
    """sum_z p(z) = 1 over all K^(H W) grids: the chain-rule product is a normalised joint
    only if every conditional is causal."""
    prior = _prior(kind, num_codes=k, height=side, width=side)
    grids = torch.tensor(list(itertools.product(range(k), repeat=side * side))).view(-1, side, side)
    with torch.no_grad():
        total = prior.log_prob(grids).double().exp().sum()
    assert total.item() == pytest.approx(1.0, abs=1e-5)


def test_teacher_forced_loss_is_mean_negative_log_likelihood() -> None:
    prior = _prior("plain")
    codes = torch.randint(0, 8, (4, 5, 5), generator=torch.Generator().manual_seed(5))
    assert prior.loss(codes).item() == pytest.approx(-prior.log_prob(codes).mean().item() / 25, rel=1e-5)


def test_build_prior_picks_the_class() -> None:
    assert isinstance(build_prior(PriorConfig(kind="plain", channels=8, head_channels=8, layers=1)), PixelCNN)
    assert isinstance(build_prior(PriorConfig(kind="gated", channels=8, head_channels=8, layers=1)), GatedPixelCNN)
    assert isinstance(build_prior(PriorConfig(kind="transformer", channels=8, heads=2, layers=1)), TransformerPrior)
    with pytest.raises(ValueError):
        PriorConfig(kind="lstm")


@pytest.mark.parametrize("kind, classes", [("gated", 3), ("plain", 0), ("transformer", 3), ("transformer", 0)])
def test_teacher_forced_logits_in_chunks_are_each_grids_own(kind: str, classes: int) -> None:
    """A batch larger than one chunk gives every grid the logits it gets on its own."""
    torch.manual_seed(0)
    prior = build_prior(PriorConfig(kind=kind, num_codes=5, height=4, width=4, channels=8, layers=2, head_channels=8,
                                    heads=2, mlp_ratio=2, num_classes=classes, dropout=0.0)).eval()
    codes = torch.randint(0, 5, (300, 4, 4), generator=torch.Generator().manual_seed(1))
    labels = torch.randint(0, classes, (300,)) if classes else None
    with torch.no_grad():
        together = prior.logits(codes, labels)
        for b in (0, 63, 64, 200, 299):
            alone = prior.logits(codes[b:b + 1], None if labels is None else labels[b:b + 1])
            assert torch.allclose(together[b:b + 1], alone, atol=1e-5), b
