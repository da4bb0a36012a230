"""Inputs far from any digit, made from what is at hand (no downloads): the "far" anomaly sets.

A score that separates a near outlier (a held-out 5 for a prior of digits 1-4) can still call an
input that looks like no digit at all normal: with the likelihood ratio both priors are equally
surprised and the ratio cancels (notes, "Likelihood and anomaly detection"; Ren et al. 2019 only
tested near sets). These sets test that, each ``n`` images of the model's size, uint8 (N, C, H, W):

* ``uniform-noise``: every pixel uniform in 0..255;
* ``gaussian-noise``: every pixel N(mean, std) of the reference images' pixels, clipped;
* ``blank``: one flat grey level each, 0..24 (the empty background of MNIST and a little more);
* ``saturated``: one flat level each, 231..255 (all ink);
* ``inverted``: the reference images with 255 - x (dark strokes on white);
* ``letters``: letters and symbols drawn with Pillow's built-in font (``ImageFont.load_default``,
  no font files), white on black at a digit's size, slightly moved and resized;
* ``rotated``: the reference images turned by 90° (either way);
* ``fashion-mnist``: Fashion-MNIST's held-out images, only when its files are in the data root.

Every set is deterministic for a seed; ``reference`` is the normal set's images (e.g. the
held-out 1-4), so "inverted" and "rotated" change only what is asked.
"""
from __future__ import annotations

import numpy as np

from .anomaly_sets import ImageSubset

FAR_KINDS = ("uniform-noise", "gaussian-noise", "blank", "saturated", "inverted", "letters", "rotated")
FAR_TITLES = {"uniform-noise": "uniform noise", "gaussian-noise": "Gaussian noise", "blank": "blank images",
              "saturated": "saturated images", "inverted": "inverted digits", "letters": "letters & symbols",
              "rotated": "digits rotated 90°", "fashion-mnist": "Fashion-MNIST"}
GLYPHS = "ABCDEFGHJKMNPQRSTUVWXYZabdefghkmnpqrstuvwxyz#%&@?!*+=$<>{}[]/\\~^"   # no l, I, O, o, i, j: digit-like
FASHION = "fashion-mnist"


def glyph_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``n`` letters/symbols, white on black, uint8 (n, size, size), drawn with Pillow's built-in font."""
    from PIL import Image, ImageDraw, ImageFont
    rng = np.random.default_rng(seed)
    out = np.zeros((n, size, size), dtype=np.uint8)
    canvas = 2 * size                                     # draw big, then shrink like MNIST's anti-aliasing
    for i in range(n):
        glyph = GLYPHS[int(rng.integers(len(GLYPHS)))]
        points = int(rng.integers(int(0.8 * canvas), int(1.0 * canvas) + 1))
        stroke = int(rng.integers(1, 4))                  # MNIST's strokes are 2-3 px thick at 28 px
        try:
            font = ImageFont.load_default(size=points)    # FreeType's built-in font (Pillow >= 10.1)
        except (TypeError, ValueError, OSError):          # no FreeType: the tiny bitmap font, scaled up
            font = ImageFont.load_default()
        if not isinstance(font, ImageFont.FreeTypeFont):
            stroke = 0                                    # the bitmap font has no outline
        img = Image.new("L", (canvas, canvas), 0)
        draw = ImageDraw.Draw(img)
        left, top, right, bottom = draw.textbbox((0, 0), glyph, font=font, stroke_width=stroke)
        w, h = max(right - left, 1), max(bottom - top, 1)
        if max(w, h) < canvas // 3:                       # a bitmap font: draw small and scale up
            small = Image.new("L", (w + 2, h + 2), 0)
            ImageDraw.Draw(small).text((1 - left, 1 - top), glyph, fill=255, font=font)
            scale = 0.7 * canvas / max(w + 2, h + 2)
            small = small.resize((max(1, int((w + 2) * scale)), max(1, int((h + 2) * scale))),
                                 Image.Resampling.NEAREST)
            img.paste(small, ((canvas - small.width) // 2, (canvas - small.height) // 2))
        else:
            dx, dy = rng.integers(-canvas // 14, canvas // 14 + 1, size=2)
            draw.text(((canvas - w) / 2 - left + dx, (canvas - h) / 2 - top + dy), glyph, fill=255, font=font,
                      stroke_width=stroke, stroke_fill=255)
        out[i] = np.asarray(img.resize((size, size), Image.Resampling.BILINEAR))
    return out


def far_images(kind: str, reference: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """The ``kind`` set (see the module docstring) at the reference images' shape: uint8 (n, C, H, W)."""
    ref = np.asarray(reference, dtype=np.uint8)
    if ref.ndim != 4 or len(ref) == 0:
        raise ValueError("far sets need reference images (N, C, H, W)")
    _, c, h, w = ref.shape
    rng = np.random.default_rng([seed, FAR_KINDS.index(kind) if kind in FAR_KINDS else 99])
    pick = rng.integers(0, len(ref), n)
    if kind == "uniform-noise":
        return rng.integers(0, 256, (n, c, h, w)).astype(np.uint8)
    if kind == "gaussian-noise":
        mean, std = float(ref.mean()), float(ref.std())
        return np.clip(rng.normal(mean, std, (n, c, h, w)), 0, 255).round().astype(np.uint8)
    if kind == "blank":
        return np.broadcast_to(rng.integers(0, 25, n)[:, None, None, None], (n, c, h, w)).astype(np.uint8)
    if kind == "saturated":
        return np.broadcast_to(rng.integers(231, 256, n)[:, None, None, None], (n, c, h, w)).astype(np.uint8)
    if kind == "inverted":
        return (255 - ref[pick]).astype(np.uint8)
    if kind == "rotated":
        turns = rng.choice([1, 3], n)
        return np.stack([np.rot90(ref[i], k, axes=(1, 2)) for i, k in zip(pick, turns)]).astype(np.uint8) \
            if h == w else ref[pick][:, :, ::-1].copy()
    if kind == "letters":
        glyphs = glyph_images(n, max(h, w), seed)
        if h != w:
            glyphs = glyphs[:, :h, :w]
        return np.repeat(glyphs[:, None], c, axis=1)
    raise ValueError(f"unknown far set {kind!r}; choose one of {', '.join(FAR_KINDS)}")


def far_subset(kind: str, reference: np.ndarray, n: int = 200, seed: int = 0) -> ImageSubset:
    """One far set as the panel shows it (labels -1: none of them is a class)."""
    images = far_images(kind, reference, n, seed)
    title = f"far: {FAR_TITLES[kind]}"
    return ImageSubset(title, images, np.full(len(images), -1, dtype=np.int64),
                       [f"{FAR_TITLES[kind]} #{i}" for i in range(len(images))])


def fashion_subset(root: str | None, image_size: int, channels: int, n: int = 200) -> ImageSubset | None:
    """Fashion-MNIST's held-out images when its files are in ``root`` (or the default data root); else None."""
    from .anomaly_sets import registry_subset
    from .data import DataError
    try:
        found = registry_subset(FASHION, root, image_size, channels, limit=n)
    except (DataError, OSError, ValueError):
        return None
    found.title = f"far: {FAR_TITLES[FASHION]}"
    return found


def fashion_present(root: str | None) -> bool:
    """Whether Fashion-MNIST's own files are in ``root`` (or the default data root): a cheap look, no reading."""
    from pathlib import Path

    from .anomaly_sets import generic_folder_problem
    from .data import DataConfig, default_data_root
    from .data.datasets import missing_data_message
    folder = Path(root).expanduser() if root else default_data_root()
    return missing_data_message(DataConfig(name=FASHION, root=str(folder))) is None \
        and generic_folder_problem(FASHION, folder) is None


def far_sets(reference: np.ndarray, n: int = 200, seed: int = 0, data_root: str | None = None,
             with_fashion: bool = True) -> dict[str, ImageSubset]:
    """Every far set, keyed "far:<kind>"; "far:fashion-mnist" only when its files are present."""
    sets = {f"far:{kind}": far_subset(kind, reference, n, seed) for kind in FAR_KINDS}
    if with_fashion:
        ref = np.asarray(reference)
        fashion = fashion_subset(data_root, ref.shape[-1], ref.shape[1], n)
        if fashion is not None:
            sets[f"far:{FASHION}"] = fashion
    return sets
