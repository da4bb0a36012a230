"""The notes' VQ-VAE loss table, checked as gradients after one backward pass.

Notes, "VQ-VAE: training objective":

    L = recon(x, D(z_q_st)) + ||sg[z_e] - z_q||^2 + beta ||z_e - sg[z_q]||^2

    Loss term        trains       does NOT train
    reconstruction   decoder (+ encoder through straight-through)   codebook
    VQ (codebook)    codebook     encoder, decoder
    commitment       encoder      codebook, decoder

and "Straight-through gradient estimation": forward z_q_st = z_q, backward dL/dz_e = dL/dz_q.
"""
from __future__ import annotations

import pytest
import torch

from explorer.core.models.quantizers import VectorQuantizer, squared_distances
from explorer.core.models.vqvae import VQVAE, VQVAEConfig

SMALL = dict(hidden_channels=16, res_channels=8, res_blocks=1, num_codes=16, code_dim=4)


def _trained_codebook_model(seed: int = 0) -> VQVAE:
    """Codebook trained by its loss term (no EMA, no k-means init, no restarts)."""
    torch.manual_seed(seed)
    model = VQVAE(VQVAEConfig(ema=False, kmeans_init=False, dead_code_steps=0, **SMALL))
    with torch.no_grad():  # codebook on the scale of the encoder outputs, so many codes get used
        z_e = model.encoder(_images(seed + 1))
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, model.config.code_dim)
        model.quantizer.codebook.copy_(flat[torch.randperm(flat.shape[0])[:model.config.num_codes]])
    return model.train()


def _images(seed: int, n: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g)


def _grad_size(params) -> float:
    """Sum of |grad| over the parameters; 0 when no gradient arrived at all (grad is None)."""
    total = 0.0
    for p in params:
        if p.grad is not None:
            total += p.grad.abs().sum().item()
    return total


def _grads_after(model: VQVAE, term: str, x: torch.Tensor) -> dict[str, float]:
    model.zero_grad(set_to_none=True)
    out = model(x)
    loss = {"reconstruction": out.recon_loss, "codebook": out.quant.codebook_loss,
            "commitment": out.quant.commitment_loss}[term]
    loss.backward()
    return {"encoder": _grad_size(model.encoder.parameters()),
            "decoder": _grad_size(model.decoder.parameters()),
            "codebook": _grad_size([model.quantizer.codebook])}


# (term) -> (parts that must receive a gradient, parts that must receive none)
TABLE = {
    "reconstruction": ({"decoder", "encoder"}, {"codebook"}),   # encoder only via straight-through
    "codebook": ({"codebook"}, {"encoder", "decoder"}),
    "commitment": ({"encoder"}, {"codebook", "decoder"}),
}


@pytest.mark.parametrize("term", sorted(TABLE))
def test_loss_table_as_gradients(term: str) -> None:
    model = _trained_codebook_model()
    assert model.quantizer.codebook.requires_grad
    grads = _grads_after(model, term, _images(2))
    reaches, never = TABLE[term]
    for part in reaches:
        assert grads[part] > 0.0, f"{term} term should train the {part}"
    for part in never:
        assert grads[part] == 0.0, f"{term} term must not reach the {part} (got {grads[part]})"


def test_codebook_and_commitment_gradients_match_their_formulas() -> None:
    """d/de_k ||sg[z_e] - z_q||^2_mean = 2/N sum_{n -> k} (e_k - z_e,n); d/dz_e beta||..|| = 2 beta (z_e - z_q)/N."""
    model = _trained_codebook_model()
    x = _images(3)
    z_e = model.encoder(x).detach().requires_grad_(True)
    q = model.quantizer(z_e)
    n_elements = z_e.numel()
    e = model.quantizer.codebook
    (q.codebook_loss + q.commitment_loss).backward()

    flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, e.shape[1])
    idx = q.indices.flatten()
    expected_e_grad = torch.zeros_like(e)
    expected_e_grad.index_add_(0, idx, 2.0 * (e.detach()[idx] - flat) / n_elements)
    torch.testing.assert_close(e.grad, expected_e_grad, rtol=1e-5, atol=1e-8)

    z_q = e.detach()[q.indices].permute(0, 3, 1, 2)
    expected_ze_grad = 2.0 * model.quantizer.beta * (z_e.detach() - z_q) / n_elements
    torch.testing.assert_close(z_e.grad, expected_ze_grad, rtol=1e-5, atol=1e-8)


def test_straight_through_copies_the_gradient_exactly() -> None:
    """dL/dz_e == dL/dz_q bit for bit when the loss flows only through the quantizer output."""
    model = _trained_codebook_model()
    x = _images(4)
    z_e = model.encoder(x).detach().requires_grad_(True)
    q = model.quantizer(z_e)
    q.quantized.retain_grad()
    loss = (model.decoder(q.quantized) - x).pow(2).mean()
    loss.backward()
    assert q.quantized.grad is not None and q.quantized.grad.abs().sum() > 0
    assert torch.equal(z_e.grad, q.quantized.grad)
    assert model.quantizer.codebook.grad is None  # the straight-through path never reaches e


def test_straight_through_forward_value_is_the_chosen_code_vector() -> None:
    model = _trained_codebook_model()
    z_e = model.encoder(_images(5))
    q = model.quantizer(z_e)
    chosen = model.quantizer.codebook[q.indices].permute(0, 3, 1, 2)   # e_k for k = indices
    torch.testing.assert_close(q.quantized, chosen, rtol=0, atol=1e-6)   # z_e + (z_q - z_e): one rounding
    assert torch.equal(model.quantizer.lookup(q.indices), chosen)
    assert q.indices.dtype == torch.long and q.indices.shape == (6, 7, 7)
    assert len(q.indices.unique()) > 1


@pytest.mark.parametrize("ema", [False, True])
def test_straight_through_forward_value_is_exact_for_generic_inputs(ema: bool) -> None:
    """z_q_st = z_e + sg[z_q - z_e] (the notes' formula, kept literally) is z_q mathematically;
    in floating point it is z_q up to one rounding of the add, also where z_e is far from the code."""
    torch.manual_seed(1)
    vq = VectorQuantizer(16, 4, ema=ema, kmeans_init=False, dead_code_steps=0).eval()
    with torch.no_grad():
        vq.codebook.normal_()
    z_e = 2.0 * torch.randn(4, 4, 7, 7)
    q = vq(z_e)
    chosen = vq.codebook[q.indices].permute(0, 3, 1, 2)
    torch.testing.assert_close(q.quantized, chosen, rtol=0, atol=4 * torch.finfo(torch.float32).eps * 8)


def test_indices_are_the_argmin_of_squared_distances_brute_force() -> None:
    """k = argmin_j ||z_e - e_j||^2, checked against an explicit loop over the K codes."""
    model = _trained_codebook_model()
    z_e = model.encoder(_images(6)).detach()
    q = model.quantizer(z_e, return_distances=True)
    d = z_e.shape[1]
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)
    e = model.quantizer.codebook.detach()
    brute = torch.stack([((flat - e[k]) ** 2).sum(1) for k in range(e.shape[0])], dim=1)   # (N, K)
    assert torch.equal(q.indices.flatten(), brute.argmin(1))
    torch.testing.assert_close(squared_distances(flat, e), brute, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(q.distances.reshape(-1, e.shape[0]), brute, rtol=1e-4, atol=1e-5)
    # The counts are the histogram of those indices; usage the fraction of codes with count > 0.
    assert torch.equal(q.counts, torch.bincount(brute.argmin(1), minlength=e.shape[0]))
    assert q.usage.item() == pytest.approx((q.counts > 0).float().mean().item())


def test_total_loss_is_the_sum_of_the_three_terms() -> None:
    model = _trained_codebook_model()
    out = model(_images(7))
    assert out.quant.kl_loss.item() == 0.0
    assert out.loss.item() == pytest.approx(
        out.recon_loss.item() + out.quant.codebook_loss.item() + out.quant.commitment_loss.item(), rel=1e-6)
    # codebook and commitment terms are the same distance, the latter weighted by beta
    assert out.quant.commitment_loss.item() == pytest.approx(
        model.config.beta * out.quant.codebook_loss.item(), rel=1e-5)


def test_ema_codebook_gets_no_gradient_and_moves_toward_assigned_outputs() -> None:
    """EMA: e_k <- (decay n_k e_k + (1 - decay) sum_{z -> k} z) / (decay n_k + (1 - decay) c_k)."""
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(ema=True, kmeans_init=False, dead_code_steps=0, **SMALL)).train()
    x = _images(8)
    with torch.no_grad():
        z_e = model.encoder(x)
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, model.config.code_dim)
        model.quantizer.codebook.copy_(flat[torch.randperm(flat.shape[0])[:model.config.num_codes]] + 0.05)
        model.quantizer.ema_sums.copy_(model.quantizer.codebook)
    before = model.codebook.detach().clone()
    brute = torch.stack([((flat - before[k]) ** 2).sum(1) for k in range(before.shape[0])], 1).argmin(1)

    out = model(x)
    assert torch.equal(out.quant.indices.flatten(), brute)          # assigned with the old codebook
    out.loss.backward()
    assert not model.codebook.requires_grad and model.codebook.grad is None
    assert out.quant.codebook_loss.item() == 0.0
    after = model.codebook.detach()

    used = torch.bincount(brute, minlength=before.shape[0]) > 0
    assert 1 < int(used.sum()) < before.shape[0]
    for k in range(before.shape[0]):
        if used[k]:
            mean_k = flat[brute == k].mean(0)
            assert (after[k] - mean_k).norm() < (before[k] - mean_k).norm(), f"code {k} did not move toward its data"
        else:
            torch.testing.assert_close(after[k], before[k], rtol=1e-3, atol=1e-6)  # unused codes stay put
    # the quantized output is the (updated) codebook vector of each chosen index
    torch.testing.assert_close(out.quant.quantized, after[out.quant.indices].permute(0, 3, 1, 2), rtol=0, atol=1e-6)


def test_eval_mode_never_moves_the_codebook() -> None:
    model = VQVAE(VQVAEConfig(**SMALL)).eval()      # EMA, k-means and restarts all on
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model(_images(9))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_vector_quantizer_straight_through_with_ema_reaches_encoder_only() -> None:
    vq = VectorQuantizer(8, 3, beta=0.5, ema=True, kmeans_init=True, dead_code_steps=0).train()
    z_e = torch.randn(2, 3, 4, 4, requires_grad=True)
    q = vq(z_e)
    (q.quantized.sum() + q.loss).backward()
    # d/dz_e [sum(z_q_st) + beta mse(z_e, sg z_q)] = 1 + 2 beta (z_e - z_q) / N
    expected = 1.0 + 2 * 0.5 * (z_e.detach() - vq.codebook[q.indices].permute(0, 3, 1, 2)) / z_e.numel()
    torch.testing.assert_close(z_e.grad, expected)
    assert vq.codebook.grad is None
