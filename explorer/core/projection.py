"""Qt-free views of a codebook: tiles, orderings, usage, a palette and a 2-D PCA map.

Everything here reads a :class:`~explorer.core.models.vqvae.VQVAE` and returns numpy arrays,
so the codebook panel only draws. The quantities follow the notes ("VQ-VAE"):

* each code e_k (k = 0..K-1) is a row of the codebook e in R^{K x D};
* an encoder output z_e(x) snaps to k = argmin_j ||z_e(x) - e_j||_2 (Figure 1);
* perplexity = exp(-sum_k p_k log p_k) of the code histogram p (``code_statistics``).
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .models.quantizers import code_statistics, squared_distances

SORT_MODES = ("index", "usage", "similarity")
TILE_MODES = ("filled", "contribution")
DEFAULT_TILE_MODE = "contribution"   # what each code adds: teaches more than K filled grids
CONTRIBUTION_MIN_SCALE = 0.15        # a change of 0.15 (of full brightness) or less never shows at full colour


# -- palette ------------------------------------------------------------------------------
def code_palette(num_codes: int) -> np.ndarray:
    """K distinct colours as uint8 (K, 3): hues spaced by the golden angle.

    Neighbouring indices get far-apart hues; lightness alternates in three bands so
    that large K still gives distinguishable colours.
    """
    colours = np.zeros((num_codes, 3), dtype=np.uint8)
    for k in range(num_codes):
        hue = (k * 0.618033988749895) % 1.0
        light = (0.50, 0.38, 0.62)[k % 3]
        sat = (0.75, 0.85, 0.65)[(k // 3) % 3]
        r, g, b = colorsys.hls_to_rgb(hue, light, sat)
        colours[k] = (round(r * 255), round(g * 255), round(b * 255))
    return colours


def text_colour_for(rgb: np.ndarray) -> tuple[int, int, int]:
    """Black or white, whichever reads better on the background colour ``rgb``."""
    r, g, b = (float(c) for c in rgb[:3])
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


# -- tiles --------------------------------------------------------------------------------
@torch.no_grad()
def filled_tiles(vqvae, batch_size: int = 64) -> np.ndarray:
    """decode(grid filled with code k) for every k: float32 (K, C, H, W) in [0, 1]."""
    cfg = vqvae.config
    k_all = torch.arange(cfg.num_codes, device=vqvae.device)
    out = []
    for start in range(0, cfg.num_codes, batch_size):
        ks = k_all[start:start + batch_size]
        grids = ks[:, None, None].expand(-1, cfg.grid_size, cfg.grid_size)
        out.append(vqvae.decode(grids).float().cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def contribution_tiles(vqvae, neutral_code: int, batch_size: int = 64) -> np.ndarray:
    """decode(neutral grid with code k at the centre) - decode(neutral grid): (K, C, H, W) in [-1, 1].

    The neutral code is usually the background (the most used code), so each tile shows
    what one code placed in the middle of an empty image adds or removes.
    """
    cfg = vqvae.config
    g, c = cfg.grid_size, cfg.grid_size // 2
    base = torch.full((1, g, g), int(neutral_code), dtype=torch.long, device=vqvae.device)
    base_img = vqvae.decode(base).float().cpu()
    out = []
    for start in range(0, cfg.num_codes, batch_size):
        ks = torch.arange(start, min(start + batch_size, cfg.num_codes), device=vqvae.device)
        grids = base.expand(len(ks), g, g).clone()
        grids[:, c, c] = ks
        out.append(vqvae.decode(grids).float().cpu() - base_img)
    return torch.cat(out).numpy()


def contribution_window(contrib: np.ndarray, grid_size: int, factor: int,
                        threshold: float = 0.1) -> tuple[int, int, int, int]:
    """The square of pixels (top, left, bottom, right; exclusive ends) that the centre cell's code
    visibly changes: every pixel where some tile's |change| is at least ``threshold`` x the largest
    change of all tiles, grown to a square centred on the centre cell's own f x f patch, and never
    smaller than that patch plus one cell on each side. ``contrib``: (K, C, H, W) from
    :func:`contribution_tiles`. Zooming the tiles to this window makes small strokes readable.
    """
    n = contrib.shape[-1]
    c0 = (grid_size // 2) * factor                   # the centre cell's patch is [c0, c0 + f)
    change = np.abs(np.asarray(contrib, dtype=np.float32)).max(axis=(0, 1))   # (H, W)
    reach = factor                                   # at least one cell around the patch
    peak = float(change.max())
    if peak > 0:
        ys, xs = np.nonzero(change >= threshold * peak)
        reach = max(reach, int(c0 - ys.min()), int(c0 - xs.min()),
                    int(ys.max() + 1 - (c0 + factor)), int(xs.max() + 1 - (c0 + factor)))
    top, bottom = max(0, c0 - reach), min(n, c0 + factor + reach)
    return top, top, bottom, bottom


def tiles_to_rgb(tiles: np.ndarray, signed: bool = False) -> np.ndarray:
    """(K, C, H, W) floats -> uint8 (K, H, W, 3) for display.

    Unsigned tiles are grey levels (or RGB). Signed tiles (contributions) use a
    diverging map: white = no change, red = brighter than the neutral image, blue = darker,
    each tile scaled to its own largest change (at least ``CONTRIBUTION_MIN_SCALE``).
    """
    t = np.asarray(tiles, dtype=np.float32)
    if not signed:
        t = np.clip(t, 0.0, 1.0)
        rgb = np.repeat(t, 3, axis=1) if t.shape[1] == 1 else t[:, :3]
        return (np.moveaxis(rgb, 1, -1) * 255 + 0.5).astype(np.uint8)
    # Each tile on its own scale (a faint code would vanish next to a strong one), but never
    # finer than CONTRIBUTION_MIN_SCALE: a code that adds little to the background looks faint,
    # and rounding noise is not blown up into speckles.
    v = t.mean(axis=1)
    scale = np.maximum(np.abs(v).reshape(len(v), -1).max(axis=1), CONTRIBUTION_MIN_SCALE)
    return diverging_rgb(v / scale[:, None, None], scale=1.0)


def diverging_rgb(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Signed values (..., H, W) -> uint8 (..., H, W, 3): blue < 0 < red, white at 0."""
    v = np.asarray(values, dtype=np.float32)
    s = float(np.abs(v).max()) if scale is None else float(scale)
    v = np.clip(v / s, -1.0, 1.0) if s > 1e-8 else np.zeros_like(v)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    r = 1.0 - 0.85 * neg
    g = 1.0 - 0.85 * (pos + neg)
    b = 1.0 - 0.85 * pos
    return (np.stack([r, g, b], axis=-1) * 255 + 0.5).astype(np.uint8)


# -- usage --------------------------------------------------------------------------------
@dataclass
class UsageStats:
    """A code histogram over a set of encoded images."""
    counts: np.ndarray             # (K,) int64: how many cells chose each code
    perplexity: float              # exp(entropy of counts / counts.sum())
    used_fraction: float           # fraction of the K codes with count > 0
    cells: int                     # number of encoded cells (= counts.sum())

    @property
    def dead(self) -> np.ndarray:
        """Indices of codes never chosen."""
        return np.flatnonzero(self.counts == 0)


def usage_from_codes(codes: torch.Tensor | np.ndarray, num_codes: int) -> UsageStats:
    """Histogram of a (N, h, w) grid of code indices and its perplexity."""
    flat = torch.as_tensor(np.asarray(codes)).reshape(-1).long()
    counts = torch.bincount(flat, minlength=num_codes)[:num_codes]
    perplexity, used = code_statistics(counts)
    return UsageStats(counts=counts.numpy().astype(np.int64), perplexity=float(perplexity),
                      used_fraction=float(used), cells=int(flat.numel()))


# -- orderings ----------------------------------------------------------------------------
def nearest_neighbour_chain(vectors: np.ndarray, start: int) -> np.ndarray:
    """Greedy chain: from ``start``, repeatedly step to the closest code not yet visited."""
    v = torch.as_tensor(np.asarray(vectors, dtype=np.float32))
    d = squared_distances(v, v).numpy()
    visited = np.zeros(len(v), dtype=bool)
    order = [int(start)]
    visited[start] = True
    for _ in range(len(v) - 1):
        row = np.where(visited, np.inf, d[order[-1]])
        nxt = int(np.argmin(row))
        order.append(nxt)
        visited[nxt] = True
    return np.asarray(order, dtype=np.int64)


def code_order(codebook: np.ndarray, mode: str, counts: np.ndarray | None = None) -> np.ndarray:
    """Display order of the K codes.

    ``index``: 0..K-1. ``usage``: most used first (ties by index). ``similarity``: a greedy
    nearest-neighbour chain through the code vectors, started at the code with the lowest
    first principal component, so similar codes sit next to each other.
    """
    k = len(codebook)
    if mode == "index":
        return np.arange(k, dtype=np.int64)
    if mode == "usage":
        c = np.zeros(k) if counts is None else np.asarray(counts, dtype=np.float64)
        return np.lexsort((np.arange(k), -c)).astype(np.int64)
    if mode == "similarity":
        first = pca_fit(codebook, 1).transform(codebook)[:, 0]
        return nearest_neighbour_chain(codebook, int(np.argmin(first)))
    raise ValueError(f"unknown sort mode {mode!r}; expected one of {SORT_MODES}")


# -- PCA ----------------------------------------------------------------------------------
@dataclass
class PCA:
    """x -> (x - mean) @ components.T: the top principal directions of a point set."""
    mean: np.ndarray               # (D,)
    components: np.ndarray         # (n, D) orthonormal rows
    explained: np.ndarray          # (n,) fraction of the variance along each component

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.components.T


def pca_fit(points: np.ndarray, n_components: int = 2) -> PCA:
    """PCA by SVD of the centred points (N, D); pads with zero axes when D < n_components."""
    x = np.asarray(points, dtype=np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    total = float((s ** 2).sum()) or 1.0
    comps = np.zeros((n_components, x.shape[1]))
    expl = np.zeros(n_components)
    m = min(n_components, vt.shape[0])
    comps[:m] = vt[:m]
    expl[:m] = (s[:m] ** 2) / total
    # A fixed sign per axis, so the map does not flip between refreshes.
    for i in range(m):
        j = int(np.argmax(np.abs(comps[i])))
        if comps[i, j] < 0:
            comps[i] = -comps[i]
    return PCA(mean=mean, components=comps, explained=expl)


@dataclass
class CodebookMap:
    """A 2-D picture of nearest-neighbour assignment (the notes' Figure 1)."""
    codes_xy: np.ndarray           # (K, 2) codebook vectors e_k projected
    points_xy: np.ndarray          # (N, 2) encoder outputs z_e projected
    assignment: np.ndarray         # (N,) argmin_j ||z_e - e_j||: the code each point snaps to
    explained: np.ndarray          # (2,) variance fraction of each axis
    soft: bool = False             # True for Gumbel models: points are softmax(logits) @ e
    image: np.ndarray | None = None    # uint8 (H, W, 4) the points drawn as dots (row 0 = lowest y)
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)   # (x0, y0, x1, y1) the image covers


@torch.no_grad()
def encoder_cloud(vqvae, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray, bool]:
    """Encoder outputs as points in code space (N*h*w, d) and the code each one snaps to.

    For nearest-neighbour VQ the points are z_e(x). For a Gumbel bottleneck the encoder
    gives logits; the points are then the soft embeddings softmax(logits) @ e. Cosine,
    factorised and FSQ bottlenecks choose codes in their own lookup space; the points are
    there (see :func:`code_space`).
    """
    points, book, soft = _cloud_and_codes(vqvae, images)
    if soft:
        assign = vqvae.encode_latents(_as_float(images).to(vqvae.device)).argmax(1).reshape(-1)
    else:
        assign = squared_distances(points, book).argmin(1)
    return points.cpu().numpy(), assign.cpu().numpy(), soft


def _cloud_and_codes(vqvae, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
    from .models.quantizers_extra import lookup_space
    z = vqvae.encode_latents(_as_float(images).to(vqvae.device))
    return lookup_space(vqvae.quantizer, z)


@torch.no_grad()
def code_space(vqvae, images: torch.Tensor) -> np.ndarray:
    """The (K, d) codes in the space where :func:`encoder_cloud`'s points live."""
    return _cloud_and_codes(vqvae, images[:1])[1].cpu().numpy()


def codebook_map(vqvae, images: torch.Tensor, max_points: int = 6000, seed: int = 0) -> CodebookMap:
    """Project codebook and encoder outputs of ``images`` onto the first two principal axes.

    The axes are fitted on the encoder outputs (what the data actually use), so dead codes
    far from the data show up at the edges. At most ``max_points`` points are kept.
    """
    points, assign, soft = encoder_cloud(vqvae, images)
    return map_of_points(points, assign, code_space(vqvae, images), soft, max_points, seed)


def map_of_points(points: np.ndarray, assign: np.ndarray, book: np.ndarray, soft: bool, max_points: int = 6000,
                  seed: int = 0, width: int = 400) -> CodebookMap:
    """The :class:`CodebookMap` of encoder outputs ``points`` (N, d), the code each snaps to ``assign`` (N,)
    and the codes ``book`` (K, d): principal axes fitted on the points (at most ``max_points`` of them,
    drawn with ``seed``), the points rasterised ``width`` pixels wide."""
    if len(points) > max_points:
        keep = np.random.default_rng(seed).choice(len(points), max_points, replace=False)
        points, assign = points[keep], assign[keep]
    pca = pca_fit(points if len(points) >= 2 else book, 2)
    codes_xy = pca.transform(book).astype(np.float32)
    points_xy = pca.transform(points).astype(np.float32)
    both = np.concatenate([codes_xy, points_xy])
    lo, hi = both.min(0), both.max(0)
    pad = np.maximum((hi - lo) * 0.04, 1e-3)
    bounds = (float(lo[0] - pad[0]), float(lo[1] - pad[1]), float(hi[0] + pad[0]), float(hi[1] + pad[1]))
    colours = code_palette(len(book))[assign]
    return CodebookMap(codes_xy=codes_xy, points_xy=points_xy, assignment=assign.astype(np.int64),
                       explained=pca.explained, soft=soft, image=rasterise_points(points_xy, colours, bounds, width=width),
                       bounds=bounds)


def rasterise_points(xy: np.ndarray, rgb: np.ndarray, bounds: tuple[float, float, float, float],
                     width: int = 400, alpha: int = 170, radius: int = 1) -> np.ndarray:
    """Draw points as (2 radius + 1)-pixel square dots into a transparent RGBA image covering ``bounds``.

    Thousands of points as one image: a plot shows it in a millisecond, where one
    scatter item per point colour takes a tenth of a second to update. The image has the
    aspect ratio of ``bounds`` (square data pixels); row 0 is the lowest y.
    """
    x0, y0, x1, y1 = bounds
    height = int(np.clip(round(width * (y1 - y0) / max(x1 - x0, 1e-9)), 16, 2 * width))
    img = np.zeros((height, width, 4), dtype=np.uint8)
    if len(xy) == 0:
        return img
    cols = np.clip(np.round((xy[:, 0] - x0) / (x1 - x0) * (width - 1)).astype(np.int64), 0, width - 1)
    rows = np.clip(np.round((xy[:, 1] - y0) / (y1 - y0) * (height - 1)).astype(np.int64), 0, height - 1)
    rgba = np.concatenate([np.asarray(rgb, dtype=np.uint8), np.full((len(xy), 1), alpha, dtype=np.uint8)], 1)
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            img[np.clip(rows + dr, 0, height - 1), np.clip(cols + dc, 0, width - 1)] = rgba
    return img


# -- everything the codebook panel shows, in one call (runs in a worker thread) ----------------
@dataclass
class CodebookAnalysis:
    """Tiles, usage and the assignment map of one model state."""
    tiles: np.ndarray              # uint8 (K, H, W, 3)
    tile_mode: str                 # "filled" or "contribution"
    neutral_code: int              # background code used by contribution tiles
    codebook: np.ndarray           # (K, D) float32
    usage: UsageStats | None       # histogram over the chosen images (None without images)
    cloud: CodebookMap | None      # PCA map of codes and encoder outputs
    window: tuple[int, int, int, int] | None = None   # contribution tiles: the pixels shown (top, left, bottom, right)
    cell: tuple[int, int, int, int] | None = None     # ... and the centre cell's own patch, in the same pixels


@torch.no_grad()
def analyse_codebook(vqvae, tile_mode: str = "filled", images: torch.Tensor | None = None,
                     cloud_images: int = 256, batch_size: int = 500) -> CodebookAnalysis:
    """Compute what the codebook panel draws for ``vqvae`` and uint8 ``images`` (N, C, H, W).

    Usage counts every cell of every image (counts.sum() = N * h * w). The contribution
    tiles use the most used code as the neutral background (without images: the code
    whose filled grid decodes darkest).
    """
    if tile_mode not in TILE_MODES:
        raise ValueError(f"unknown tile mode {tile_mode!r}; expected one of {TILE_MODES}")
    k = vqvae.config.num_codes
    usage = cloud = None
    if images is not None and len(images):
        codes = torch.cat([vqvae.encode(_as_float(images[s:s + batch_size]).to(vqvae.device)).cpu()
                           for s in range(0, len(images), batch_size)])
        usage = usage_from_codes(codes, k)
        cloud = codebook_map(vqvae, images[:cloud_images])
    filled = filled_tiles(vqvae)
    if usage is not None and usage.cells:
        neutral = int(np.argmax(usage.counts))
    else:
        neutral = int(np.argmin(filled.reshape(k, -1).mean(1)))
    window = cell = None
    if tile_mode == "filled":
        tiles = tiles_to_rgb(filled)
    else:
        contrib = contribution_tiles(vqvae, neutral)                       # (K, C, H, W)
        cfg = vqvae.config
        window = contribution_window(contrib, cfg.grid_size, cfg.downsample)
        t, l, b, r = window
        c0 = (cfg.grid_size // 2) * cfg.downsample
        cell = (c0 - t, c0 - l, c0 - t + cfg.downsample, c0 - l + cfg.downsample)
        tiles = tiles_to_rgb(contrib[:, :, t:b, l:r], signed=True)           # zoomed to the window
    return CodebookAnalysis(tiles=tiles, tile_mode=tile_mode, neutral_code=neutral,
                            codebook=vqvae.codebook.detach().cpu().numpy().astype(np.float32),
                            usage=usage, cloud=cloud, window=window, cell=cell)


def _as_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(255.0) if x.dtype == torch.uint8 else x.float()


# -- what a code cell influences in the image -------------------------------------------------
@dataclass
class Influence:
    """Pixel extent a code cell reaches in the decoded image, relative to its own patch.

    Cell (i, j) owns pixels [i*f, (i+1)*f) x [j*f, (j+1)*f) (f = downsample); the decoder's
    receptive field spreads its effect ``up``/``left``/``down``/``right`` pixels further.
    """
    factor: int
    up: int
    left: int
    down: int
    right: int
    image_size: int
    empirical: bool = True

    def patch(self, i: int, j: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) pixels, exclusive end, of the cell's own patch."""
        f = self.factor
        return i * f, j * f, (i + 1) * f, (j + 1) * f

    def rect(self, i: int, j: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) pixels, exclusive end, that cell (i, j) can change."""
        t, l, b, r = self.patch(i, j)
        n = self.image_size
        return max(0, t - self.up), max(0, l - self.left), min(n, b + self.down), min(n, r + self.right)


@torch.no_grad()
def measure_influence(vqvae, trials: int = 3, seed: int = 0) -> Influence:
    """Empirical decoder receptive field: perturb the centre cell's vector, see which pixels move.

    Uses the unclamped decoder output so saturated pixels still count; several random
    perturbations are combined. Falls back to the architecture's bound if nothing moves.
    """
    cfg = vqvae.config
    g, f, n = cfg.grid_size, cfg.downsample, cfg.image_size
    c = g // 2
    gen = torch.Generator().manual_seed(seed)
    book = vqvae.codebook.detach()
    codes = torch.randint(0, cfg.num_codes, (trials, g, g), generator=gen).to(book.device)
    z = vqvae.quantizer.lookup(codes)
    z2 = z.clone()
    scale = float(book.std()) + 1.0
    z2[:, :, c, c] += torch.randn(trials, book.shape[1], generator=gen).to(book.device) * scale
    moved = (vqvae.decoder(z2) - vqvae.decoder(z)).abs().amax(dim=(0, 1)) > 1e-6   # (H, W)
    ys, xs = np.nonzero(moved.cpu().numpy())
    if len(ys) == 0:
        return architectural_influence(cfg)
    t, l, b, r = c * f, c * f, (c + 1) * f, (c + 1) * f
    return Influence(f, max(0, t - int(ys.min())), max(0, l - int(xs.min())),
                     max(0, int(ys.max()) + 1 - b), max(0, int(xs.max()) + 1 - r), n, True)


def architectural_influence(cfg) -> Influence:
    """Upper bound from the decoder layout: 3x3 input conv + one 3x3 per residual block at
    grid resolution, then one 4x4 stride-2 transposed conv per factor of 2."""
    cells = 1 + cfg.res_blocks
    pix = cells * cfg.downsample + max(0, cfg.downsample.bit_length() - 1)
    return Influence(cfg.downsample, pix, pix, pix, pix, cfg.image_size, empirical=False)
