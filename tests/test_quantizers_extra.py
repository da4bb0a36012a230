"""The quantizer kinds of explorer.core.models.quantizers_extra: shapes, gradients, the rotation trick's
and FSQ's formulas checked numerically (vector-quantize-pytorch is not installed: we compare with the
papers' definitions instead), dead-code restarts, and bundles of every kind (hostile values refused).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from explorer.core.bundle import Bundle, BundleError, load_bundle
from explorer.core.models.quantizers_extra import (QUANTIZER_KINDS, FiniteScalarQuantizer, LookupVectorQuantizer,
                                                   balanced_factors, fsq_levels_for, rotation_matrix, rotation_trick)
from explorer.core.models.vqvae import VQVAE, VQVAEConfig

TINY = dict(hidden_channels=16, res_channels=8, res_blocks=1, num_codes=16, code_dim=4)


def tiny_model(kind: str, **extra) -> VQVAE:
    torch.manual_seed(0)
    return VQVAE(VQVAEConfig(quantizer=kind, **{**TINY, **extra}))


@pytest.mark.parametrize("kind", QUANTIZER_KINDS)
def test_every_kind_has_the_shapes_of_the_interface_and_its_size_estimate(kind: str) -> None:
    model = tiny_model(kind).train()
    x = torch.rand(3, 1, 28, 28)
    out = model(x, return_distances=True)
    q = out.quant
    assert q.quantized.shape == (3, 4, 7, 7)
    assert q.indices.shape == (3, 7, 7) and q.indices.dtype == torch.long
    assert int(q.indices.min()) >= 0 and int(q.indices.max()) < 16
    assert q.counts.shape == (16,) and int(q.counts.sum()) == 3 * 49
    assert q.distances.shape == (3, 7, 7, 16)
    assert 1.0 <= float(q.perplexity) <= 16.0 + 1e-4
    assert model.codebook.shape == (16, 4)                       # what the decoder receives per code
    assert model.decode(q.indices).shape == (3, 1, 28, 28)
    assert model.config.state_size() == sum(t.numel() for t in model.state_dict().values())
    model.eval()
    codes = model.encode(x)
    # decoding the codes gives the decoder exactly the eval-mode forward's quantized vectors
    torch.testing.assert_close(model.quantizer.lookup(codes), model.quantize(x).quantized, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", QUANTIZER_KINDS)
def test_the_gradient_of_the_reconstruction_reaches_the_encoder(kind: str) -> None:
    model = tiny_model(kind, ema=False, kmeans_init=False, gumbel_hard=True).train()
    out = model(torch.rand(4, 1, 28, 28))
    out.recon_loss.backward()                                    # only through the bottleneck
    first = model.encoder.net[0].weight.grad
    assert first is not None and float(first.abs().sum()) > 0


def test_rotation_trick_forward_is_q_and_backward_is_the_papers_rotation() -> None:
    """Fifty et al. 2024: q~ = sg[lambda R] e, R = I - 2 r r^T + 2 q_hat e_hat^T; dL/de = lambda R^T dL/dq."""
    g = torch.Generator().manual_seed(0)
    e = torch.randn(5, 6, generator=g, dtype=torch.float64)
    q = torch.randn(5, 6, generator=g, dtype=torch.float64)
    upstream = torch.randn(5, 6, generator=g, dtype=torch.float64)
    e_var = e.clone().requires_grad_(True)
    out = rotation_trick(e_var, q)
    assert torch.equal(out.detach(), q)                          # exactly z_q going forward
    (out * upstream).sum().backward()
    for i in range(5):
        m = rotation_matrix(e[i], q[i])
        torch.testing.assert_close(m @ e[i], q[i])               # lambda R maps e onto q
        torch.testing.assert_close(m.T @ m, (q[i].norm() / e[i].norm()) ** 2 * torch.eye(6, dtype=torch.float64))
        torch.testing.assert_close(e_var.grad[i], m.T @ upstream[i])
    # the straight-through estimator would pass ``upstream`` unchanged: the rotation does not
    assert not torch.allclose(e_var.grad, upstream)


def test_rotation_trick_when_e_and_q_point_the_same_way_is_a_scaling() -> None:
    e = torch.tensor([[1.0, 2.0, 2.0]], requires_grad=True)
    q = 2.0 * e.detach()
    out = rotation_trick(e, q)
    out.sum().backward()
    torch.testing.assert_close(e.grad, torch.full((1, 3), 2.0))  # lambda = 2, R = I


@pytest.mark.parametrize("k", [2, 5, 16, 64, 100, 256, 512, 1000, 1024, 4096, 8192])
def test_fsq_levels_multiply_to_k(k: int) -> None:
    levels = fsq_levels_for(k)
    assert math.prod(levels) == k and min(levels) >= 2


def test_fsq_levels_for_the_lab_sizes() -> None:
    assert fsq_levels_for(64) == (8, 8)
    assert fsq_levels_for(512) == (8, 8, 8)
    assert fsq_levels_for(16) == (4, 4)
    assert balanced_factors(100, 3) == [5, 5, 4]


@pytest.mark.parametrize("levels", [(8, 8), (5, 3), (4, 4, 4), (7, 5, 2)])
def test_fsq_implicit_codebook_has_exactly_the_product_of_its_levels(levels: tuple[int, ...]) -> None:
    k = math.prod(levels)
    fsq = FiniteScalarQuantizer(k, 4, levels=levels)
    grid = fsq.implicit_codebook()
    assert grid.shape == (k, len(levels))
    assert len(torch.unique(grid, dim=0)) == k                   # every combination once
    assert float(grid.min()) >= -1 and float(grid.max()) <= 1
    # each dimension takes exactly L_i values
    for i, n in enumerate(levels):
        assert len(torch.unique(grid[:, i])) == n
    # index <-> grid point: z that the bound maps onto each grid point rounds back to its own index
    half_width = torch.tensor([n // 2 for n in levels], dtype=torch.float32)
    lv = torch.tensor(levels, dtype=torch.float32)
    half_l = (lv - 1) * (1 + fsq.eps) / 2
    offset = torch.where(lv % 2 == 0, 0.5, 0.0)
    z = torch.atanh((grid * half_width + offset) / half_l) - torch.atanh(offset / half_l)
    _, digits = fsq._quantise(z)
    assert torch.equal((digits * fsq.basis).sum(1), torch.arange(k))


def test_fsq_bound_gives_exactly_l_values_for_any_input() -> None:
    fsq = FiniteScalarQuantizer(8 * 5, 4, levels=(8, 5))
    z = torch.linspace(-50, 50, 20001)[:, None].repeat(1, 2)
    codes, digits = fsq._quantise(z)
    assert set(digits[:, 0].tolist()) == set(range(8)) and set(digits[:, 1].tolist()) == set(range(5))
    assert float(codes.abs().max()) <= 1.0


def test_fsq_refuses_levels_that_do_not_make_k() -> None:
    with pytest.raises(ValueError):
        FiniteScalarQuantizer(64, 4, levels=(4, 4))


@pytest.mark.parametrize("cosine,lookup_dim", [(False, 0), (True, 0), (True, 3)])
def test_dead_code_restart_revives_unused_codes(cosine: bool, lookup_dim: int) -> None:
    torch.manual_seed(0)
    quant = LookupVectorQuantizer(8, 4, cosine=cosine, lookup_dim=lookup_dim, ema=False, kmeans_init=False,
                                  dead_code_steps=2).train()
    with torch.no_grad():                                        # every code far away on one side: dead
        quant.codebook.data[:] = torch.tensor([1.0] + [0.0] * (quant.codebook.shape[1] - 1)) * 100
        quant.codebook.data[0] = 0.0
    g = torch.Generator().manual_seed(1)
    z = torch.randn(4, 4, 5, 5, generator=g)
    first = quant(z)
    assert int((first.counts > 0).sum()) <= 2
    for _ in range(3):
        quant(z)
    revived = quant(z)
    assert int((revived.counts > 0).sum()) >= 6                  # re-seeded from encoder outputs: in use again


def test_cosine_lookup_picks_the_largest_cosine() -> None:
    quant = LookupVectorQuantizer(3, 2, cosine=True, ema=False, kmeans_init=False, dead_code_steps=0).eval()
    with torch.no_grad():
        quant.codebook.data[:] = torch.tensor([[10.0, 0.0], [0.0, 0.1], [-1.0, -1.0]])
    z = torch.tensor([[0.05, 1.0], [3.0, 0.2], [-0.2, -0.3]]).T.reshape(1, 2, 1, 3)
    assert quant(z).indices.flatten().tolist() == [1, 0, 2]     # direction, not distance


# ------------------------------------------------------------------------------------------ bundles
def _saved(kind: str, tmp_path: Path) -> Path:
    model = tiny_model(kind).train()
    with torch.no_grad():
        model(torch.rand(4, 1, 28, 28))
    Bundle(vqvae=model.eval(), name=kind).save(tmp_path / kind)
    return tmp_path / kind


@pytest.mark.parametrize("kind", ["rotation", "cosine", "factorised", "fsq"])
def test_every_new_kind_round_trips_through_a_bundle(kind: str, tmp_path: Path) -> None:
    path = _saved(kind, tmp_path)
    loaded = load_bundle(path)
    assert loaded.vqvae.config.quantizer == kind
    x = torch.rand(2, 1, 28, 28)
    original = tiny_model(kind)
    original.load_state_dict(loaded.vqvae.state_dict())
    torch.testing.assert_close(loaded.vqvae.encode(x), original.eval().encode(x))


@pytest.mark.parametrize("field,value", [
    ("quantizer", "evil"), ("quantizer", 3), ("quantizer", None), ("quantizer", ["fsq"]),
    ("lookup_dim", 10 ** 12), ("lookup_dim", 0), ("lookup_dim", -4), ("lookup_dim", 2.5), ("lookup_dim", True),
    ("lookup_dim", "8"),
])
def test_the_bundle_loader_refuses_hostile_quantizer_values(field: str, value, tmp_path: Path) -> None:
    path = _saved("factorised", tmp_path)
    cfg = json.loads((path / "config.json").read_text())
    cfg["vqvae"]["config"][field] = value
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BundleError, match=field):
        load_bundle(path)


def test_a_factorised_bundle_whose_weights_do_not_match_its_lookup_dim_is_refused(tmp_path: Path) -> None:
    path = _saved("factorised", tmp_path)
    cfg = json.loads((path / "config.json").read_text())
    cfg["vqvae"]["config"]["lookup_dim"] = 5
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BundleError, match="do not match"):
        load_bundle(path)


def test_configs_written_before_the_new_fields_still_load() -> None:
    old = VQVAEConfig(**TINY).to_dict()
    del old["lookup_dim"]
    cfg = VQVAEConfig.from_dict(old)
    assert cfg.quantizer == "vq" and cfg.lookup_dim == 8
    # and a plain VQ model's weight names are unchanged (shipped bundles keep loading)
    names = set(VQVAE(cfg).quantizer.state_dict())
    assert names == {"codebook", "initialized", "ema_counts", "ema_sums", "steps_unused"}


@pytest.mark.parametrize("kind", ["factorised", "fsq", "cosine"])
def test_the_codebook_panels_map_uses_the_lookup_space(kind: str) -> None:
    from explorer.core.projection import codebook_map, encoder_cloud
    model = tiny_model(kind, lookup_dim=3).eval()
    images = torch.rand(4, 1, 28, 28)
    points, assign, soft = encoder_cloud(model, images)
    dim = {"factorised": 3, "fsq": 2, "cosine": 4}[kind]
    assert points.shape == (4 * 49, dim) and not soft
    torch.testing.assert_close(torch.from_numpy(assign), model.encode(images).flatten())   # the model's own codes
    m = codebook_map(model, images)
    assert m.codes_xy.shape == (16, 2) and m.points_xy.shape == (4 * 49, 2)
