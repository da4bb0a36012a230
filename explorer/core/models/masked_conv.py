"""Masked convolutions for causal (raster-order) models (notes, "Causal convolutions").

A binary mask multiplies the kernel before every forward pass so that the output at
(i, j) never sees a later raster position:

* type ``"A"`` (first layer): rows above the centre, and the centre row strictly left of
  the centre; the current position itself is excluded.
* type ``"B"`` (later layers): as A, plus the centre tap.
* ``"VA"`` / ``"VB"``: the gated prior's vertical stack: rows strictly above (VA) or up to
  and including the centre row (VB), over the full kernel width.

For a (1, k) kernel the A and B masks are the horizontal stack's "left of" masks.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

MASK_TYPES = ("A", "B", "VA", "VB")


def causal_mask(kernel_size: tuple[int, int], mask_type: str) -> torch.Tensor:
    """The (kh, kw) binary mask of the given type."""
    kh, kw = kernel_size
    ci, cj = kh // 2, kw // 2
    mask = torch.zeros(kh, kw)
    if mask_type in ("A", "B"):
        mask[:ci, :] = 1
        mask[ci, :cj + (mask_type == "B")] = 1
    elif mask_type == "VA":
        mask[:ci, :] = 1
    elif mask_type == "VB":
        mask[:ci + 1, :] = 1
    else:
        raise ValueError(f"mask_type must be one of {MASK_TYPES}")
    return mask


class MaskedConv2d(nn.Conv2d):
    """Conv2d whose kernel is multiplied by a causal mask ("same" zero padding, stride 1)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 mask_type: str = "B", bias: bool = True) -> None:
        ks = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if ks[0] % 2 == 0 or ks[1] % 2 == 0:
            raise ValueError("masked kernels need odd sizes")
        super().__init__(in_channels, out_channels, ks, padding=(ks[0] // 2, ks[1] // 2), bias=bias)
        self.mask_type = mask_type
        self.register_buffer("mask", causal_mask(ks, mask_type)[None, None])
        self._cached: tuple[tuple, torch.Tensor] | None = None   # (weight identity, masked weight)

    @property
    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.masked_weight, self.bias, padding=self.padding)

    # -- incremental evaluation (fast sampling) ------------------------------------
    def pad_like(self, n: int, height: int, width: int, ref: torch.Tensor) -> torch.Tensor:
        """An all-zero padded input cache (n, C_in, H + 2ph, W + 2pw) for :meth:`at`."""
        ph, pw = self.padding
        return ref.new_zeros(n, self.in_channels, height + 2 * ph, width + 2 * pw)

    def at(self, padded: torch.Tensor, i: int, j: int) -> torch.Tensor:
        """Output at one position (i, j) from a padded input cache: (n, C_out).

        Only the kernel window around (i, j) is read, so this costs 1/(H W) of a full pass.
        """
        kh, kw = self.kernel_size
        patch = padded[:, :, i:i + kh, j:j + kw].reshape(padded.shape[0], -1)  # (n, C_in*kh*kw)
        return F.linear(patch, self._sampling_kernel().view(self.out_channels, -1), self.bias)

    def _sampling_kernel(self) -> torch.Tensor:
        """weight * mask for :meth:`at` and :meth:`row`, cached while autograd is off.

        Sampling calls them H*W*layers times with the same weights; the cache key (storage,
        in-place version, device, dtype) changes on any optimiser step, load or move.
        """
        if torch.is_grad_enabled():
            return self.masked_weight                         # differentiable path: never cached
        w = self.weight
        key = (w.data_ptr(), w._version, w.device, w.dtype, self.mask.data_ptr())
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, self.masked_weight)
        return self._cached[1]

    def row(self, padded: torch.Tensor, i: int) -> torch.Tensor:
        """Output for the whole row i from a padded input cache: (n, C_out, W)."""
        kh, _ = self.kernel_size
        slab = padded[:, :, i:i + kh, :]                                          # (n, C_in, kh, W+2pw)
        return F.conv2d(slab, self._sampling_kernel(), self.bias)[:, :, 0, :]


def pointwise(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution applied to per-position features x (n, C_in) -> (n, C_out)."""
    return F.linear(x, conv.weight.reshape(conv.out_channels, -1), conv.bias)
