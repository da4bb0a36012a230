"""What compression costs and gives: bits against PNG, JPEG and WebP, MSE and PSNR, per image and per set."""
from __future__ import annotations

import io
import math
from typing import Sequence

import numpy as np
import torch

from ..metrics import INFERENCE_BATCH
from .coder import ProgressFn, _check_labels, _cpu_eval, decode_grids, encode_grids, encode_with_stats


# --------------------------------------------------------------------------------------
# Images, PNG/JPEG/WebP, rows for the table
# --------------------------------------------------------------------------------------
@torch.no_grad()
def images_to_codes(vqvae, images: np.ndarray | torch.Tensor, batch: int = INFERENCE_BATCH) -> torch.Tensor:
    """uint8 (N, C, H, W) images -> (N, h, w) long code grids on the CPU."""
    from ..metrics import encode_images
    return encode_images(vqvae, torch.as_tensor(np.asarray(images)), batch)


@torch.no_grad()
def codes_to_images(vqvae, codes: torch.Tensor, batch: int = INFERENCE_BATCH) -> np.ndarray:
    """(N, h, w) codes -> the VQ-VAE's decoded images as uint8 (N, C, H, W)."""
    was = vqvae.training
    vqvae.eval()
    out = []
    try:
        for start in range(0, codes.shape[0], batch):
            x = vqvae.decode(codes[start:start + batch])
            out.append(x.mul(255.0).round().clamp(0, 255).to(torch.uint8).cpu().numpy())
    finally:
        vqvae.train(was)
    c, s = vqvae.config.in_channels, vqvae.config.image_size
    return np.concatenate(out) if out else np.zeros((0, c, s, s), dtype=np.uint8)


def _pil(image: np.ndarray):
    """uint8 (C, H, W) -> a PIL image ('L' for one channel, 'RGB' for three)."""
    from PIL import Image
    return Image.fromarray(image[0] if image.shape[0] == 1 else np.ascontiguousarray(image.transpose(1, 2, 0)))


def png_bytes(image: np.ndarray) -> int:
    """Size of the lossless PNG (Pillow, optimize=True) of uint8 (C, H, W)."""
    buf = io.BytesIO()
    _pil(image).save(buf, format="PNG", optimize=True)
    return len(buf.getvalue())


def lossy_roundtrip(image: np.ndarray, fmt: str, quality: int) -> tuple[int, np.ndarray]:
    """(bytes, decoded uint8 (C, H, W)) of a JPEG or WebP (Pillow, lossy) of uint8 (C, H, W)."""
    from PIL import Image
    buf = io.BytesIO()
    _pil(image).save(buf, format=fmt, quality=int(quality))
    data = buf.getvalue()
    with Image.open(io.BytesIO(data), formats=[fmt.upper()]) as decoded:  # bytes we just encoded
        decoded = decoded.convert("L" if image.shape[0] == 1 else "RGB")
        arr = np.asarray(decoded, dtype=np.uint8)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return len(data), arr


def mse_uint8(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image MSE of uint8 (N, C, H, W) images with pixels scaled to [0, 1]: (N,) float64."""
    d = (a.astype(np.float64) - b.astype(np.float64)) / 255.0
    return (d * d).reshape(d.shape[0], -1).mean(axis=1)


def psnr(mse: float) -> float:
    """PSNR in dB for pixels in [0, 1]: 10 log10(1 / MSE) (inf for a perfect copy)."""
    return math.inf if mse <= 0 else 10.0 * math.log10(1.0 / mse)


@torch.no_grad()
def ideal_bits(prior, codes: torch.Tensor, labels=None, batch: int = INFERENCE_BATCH) -> np.ndarray:
    """-log2 p(z) per grid under the prior (teacher-forced, float32): (N,) float64."""
    out = []
    with _cpu_eval(prior) as model:
        lab_all = _check_labels(model, codes.shape[0], labels)
        for start in range(0, codes.shape[0], batch):
            lab = lab_all[start:start + batch] if lab_all is not None else None
            out.append((-model.log_prob(codes[start:start + batch], lab) / math.log(2)).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


ROW_KEYS = ("raw_bytes", "png_bytes", "uniform_bits", "ideal_bits", "coded_bits", "mse", "psnr")


def compression_rows(bundle, images: np.ndarray, names: Sequence[str], labels=None,
                     progress: ProgressFn | None = None) -> list[dict]:
    """Per image: name, raw_bytes (C*H*W), png_bytes (lossless PNG, Pillow optimize=True),
    uniform_bits (H*W*log2 K for the grid), ideal_bits (-log2 p(z), teacher-forced prior),
    coded_bits, mse and psnr (VQ-VAE decode of the *decoded* codes, as uint8, against the
    image, pixels in [0, 1]).

    coded_bits: all images share one range-coded stream, so an image's bits are its share
    of the stream's actual length, split in proportion to each image's information content
    under the coding conditionals; they sum exactly to the stream's length (the .dlc
    header with the names is not included). The set is encoded, decoded and checked to
    round-trip exactly (a RuntimeError if it did not, which would be a bug).
    ``progress(done, total)`` counts images over encode then decode (total = 2N).
    """
    if bundle.prior is None:
        raise ValueError("this bundle has no prior to code with")
    images = np.asarray(images)
    n = images.shape[0]
    if len(names) != n:
        raise ValueError(f"{n} images but {len(names)} names")
    codes = images_to_codes(bundle.vqvae, images)
    enc_progress = (lambda d, t: progress(d, 2 * t)) if progress else None
    dec_progress = (lambda d, t: progress(t + d, 2 * t)) if progress else None
    payload, info_bits = encode_with_stats(bundle.prior, codes, labels, progress=enc_progress)
    h, w = codes.shape[1:]
    decoded = decode_grids(bundle.prior, payload, n, (h, w), labels, progress=dec_progress)
    if not torch.equal(decoded, codes):
        raise RuntimeError("decoding did not reproduce the codes (a bug: please report it)")
    recon = codes_to_images(bundle.vqvae, decoded)
    mse = mse_uint8(images, recon)
    ideal = ideal_bits(bundle.prior, codes, labels)
    stream_bits = 8.0 * len(payload)
    share = info_bits / info_bits.sum() if info_bits.sum() > 0 else np.full(n, 1.0 / max(n, 1))
    uniform = h * w * math.log2(bundle.prior.config.num_codes)
    return [{"name": str(names[idx]), "raw_bytes": int(images[idx].size), "png_bytes": png_bytes(images[idx]),
             "uniform_bits": uniform, "ideal_bits": float(ideal[idx]),
             "coded_bits": float(stream_bits * share[idx]), "mse": float(mse[idx]), "psnr": psnr(float(mse[idx]))}
            for idx in range(n)]


def summarise_rows(rows: Sequence[dict]) -> dict:
    """The set's means of each numeric column, plus count; psnr is the PSNR of the mean MSE
    (the mean of per-image PSNRs is infinite as soon as one image is exact)."""
    out: dict = {"name": "mean", "count": len(rows)}
    for key in ROW_KEYS:
        values = [float(r[key]) for r in rows]
        out[key] = float(np.mean(values)) if values else math.nan
    out["psnr"] = psnr(out["mse"]) if rows else math.nan
    return out


# --------------------------------------------------------------------------------------
# Rate-distortion against JPEG and WebP
# --------------------------------------------------------------------------------------
JPEG_QUALITIES = (1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
WEBP_QUALITIES = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100)


def codec_curve(images: np.ndarray, fmt: str, qualities: Sequence[int]) -> list[dict]:
    """A lossy codec swept over ``qualities``: per quality the mean bits per image (whole
    files, headers included: each image is a standalone file), MSE and PSNR of the mean MSE."""
    curve = []
    for q in qualities:
        sizes, recon = zip(*(lossy_roundtrip(img, fmt, q) for img in images))
        mse = float(mse_uint8(images, np.stack(recon)).mean())
        curve.append({"quality": int(q), "bits_per_image": 8.0 * float(np.mean(sizes)), "mse": mse, "psnr": psnr(mse)})
    return curve


def bits_to_match_mse(curve: Sequence[dict], mse: float) -> float | None:
    """Bits per image a codec needs to reach ``mse``, interpolated along its curve.

    Points are ordered by bits; between two neighbours the curve is linear in (bits, log MSE).
    Returns the fewest bits at which the curve reaches ``mse``; the lowest-rate point's bits if
    even it is at least as good (an upper bound: the sweep goes no lower); None if no point is
    as good (the codec cannot match within the sweep).
    """
    points = sorted((float(p["bits_per_image"]), float(p["mse"])) for p in curve)
    if not points:
        return None
    if points[0][1] <= mse:
        return points[0][0]
    for (b0, m0), (b1, m1) in zip(points, points[1:]):
        if m1 <= mse < m0:
            if m1 <= 0 or mse <= 0:
                return b1
            t = (math.log(m0) - math.log(mse)) / (math.log(m0) - math.log(m1))
            return b0 + t * (b1 - b0)
    return None


def rate_distortion(bundles: dict, images: np.ndarray, jpeg_qualities: Sequence[int] = JPEG_QUALITIES,
                    webp_qualities: Sequence[int] = WEBP_QUALITIES, known: dict | None = None) -> dict:
    """Rate-distortion on the same uint8 (N, C, H, W) images.

    Returns {"images": N, "points": {bundle name: {bits_per_image (actual coded bits),
    ideal_bits_per_image, mse, psnr}}, "jpeg": curve, "webp": curve, "match": {bundle name:
    {"jpeg_bits", "webp_bits"}}} where curves are :func:`codec_curve` lists and "match" holds
    what JPEG/WebP need for the bundle's MSE (:func:`bits_to_match_mse`). ``known`` may give
    a bundle's point already measured (e.g. from :func:`summarise_rows`), keyed by name.
    Bundles without a prior, made for images of another shape, or class-conditional (they need
    labels: give their point in ``known``) are left out.
    """
    images = np.asarray(images)
    n = images.shape[0]
    points: dict[str, dict] = {}
    for name, bundle in bundles.items():
        if known and name in known:
            points[name] = dict(known[name])
            continue
        cfg = bundle.vqvae.config
        if bundle.prior is None or tuple(images.shape[1:]) != (cfg.in_channels, cfg.image_size, cfg.image_size):
            continue                             # no prior, or made for other images: no point
        if getattr(bundle.prior.config, "num_classes", 0):
            continue                             # class-conditional: its point needs labels (given via ``known``)
        codes = images_to_codes(bundle.vqvae, images)
        payload = encode_grids(bundle.prior, codes)
        mse = float(mse_uint8(images, codes_to_images(bundle.vqvae, codes)).mean())
        points[name] = {"bits_per_image": 8.0 * len(payload) / max(n, 1),
                        "ideal_bits_per_image": float(ideal_bits(bundle.prior, codes).mean()),
                        "mse": mse, "psnr": psnr(mse)}
    jpeg = codec_curve(images, "JPEG", jpeg_qualities)
    webp = codec_curve(images, "WEBP", webp_qualities)
    match = {name: {"jpeg_bits": bits_to_match_mse(jpeg, p["mse"]), "webp_bits": bits_to_match_mse(webp, p["mse"])}
             for name, p in points.items()}
    return {"images": n, "points": points, "jpeg": jpeg, "webp": webp, "match": match}


def compression_report(bundle, images: np.ndarray, names: Sequence[str], name: str = "bundle",
                       extra_bundles: dict | None = None, progress: ProgressFn | None = None,
                       labels=None) -> dict:
    """What the compression view shows, in one call: {"rows": :func:`compression_rows`,
    "mean": :func:`summarise_rows`, "rd": :func:`rate_distortion` with ``bundle`` (under
    ``name``, its point taken from the rows) and any ``extra_bundles`` as points}.

    ``labels``: each image's class, needed when ``bundle``'s prior is class-conditional (a
    ValueError says so when they are missing); class-conditional extra bundles are left out."""
    rows = compression_rows(bundle, images, names, labels, progress=progress)
    mean = summarise_rows(rows)
    point = {"bits_per_image": mean["coded_bits"], "ideal_bits_per_image": mean["ideal_bits"],
             "mse": mean["mse"], "psnr": mean["psnr"]}
    bundles = {name: bundle, **{k: v for k, v in (extra_bundles or {}).items() if k != name}}
    rd = rate_distortion(bundles, images, known={name: point})
    return {"rows": rows, "mean": mean, "rd": rd}
