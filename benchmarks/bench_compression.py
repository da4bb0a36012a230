"""Compression of MNIST digits with a bundle's VQ-VAE + prior, against PNG, JPEG and WebP; one JSON object.

    python benchmarks/bench_compression.py --mnist ../shared/data/mnist            # held-out 1 000 digits
    python benchmarks/bench_compression.py --bundle trained_models/mnist --limit 200

Each image's code grid is range-coded with the prior's conditionals in raster order
(explorer.core.compression); the set is one stream. Reported per image (means over the set):
the actual coded bits against the ideal -log2 p(z), the uniform H W log2 K, the lossless PNG
size, the reconstruction MSE / PSNR (pixels in [0, 1], the VQ-VAE's decode of the *decoded*
codes as uint8), and the bits JPEG and WebP (Pillow, lossy, whole files) need for the same
MSE, interpolated over a quality sweep.

Speed, side by side in one run on one thread (the coder pins one thread anyway so its arithmetic
is reproducible), all wall-clock on the same images:
* ``compress_images_per_s``: images -> .dlc bytes (VQ-VAE encode, coding, header); the coder
  alone is ``encode_images_per_s``;
* ``decompress_images_per_s``: .dlc bytes -> uint8 images (parse, decode, VQ-VAE decode); the
  coder alone is ``decode_images_per_s``;
* ``nll_images_per_s``: teacher-forced -log2 p(z) of the images (what ``score --method nll`` computes);
* ``webp_encode_images_per_s``: Pillow's WebP encoder (quality 80) on the same images;
* ``ratios``: each of the three against WebP, with the goals (compress >= 1/10, decompress >= 1/20,
  NLL >= 1/3).
``--bundles A B ...`` runs the speed part for several bundles (class-conditional ones with the
images' true labels); the first is the one measured in full.
Without --mnist the bundle's own example images are used (and the JSON says so).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from explorer.core import compression as C  # noqa: E402
from explorer.core.bundle import load_bundle  # noqa: E402
from explorer.core.data import DataConfig, load_data  # noqa: E402


def finite_or_none(value):
    """JSON has no inf/NaN (an exact copy has PSNR inf): such values become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def webp_speed(images: np.ndarray) -> float:
    """Pillow's WebP encoder (lossy, quality 80) on the images, one at a time: images/s."""
    import io

    pils = [C.measure._pil(image) for image in images]
    t0 = time.perf_counter()
    for pil in pils:
        pil.save(io.BytesIO(), format="WEBP", quality=80)
    return len(pils) / (time.perf_counter() - t0)


def speed(bundle, images: np.ndarray, labels: np.ndarray) -> dict:
    """Compress, decompress and teacher-forced NLL throughput of ``bundle`` next to WebP's encoder,
    measured right before and after (the machine's load changes; the mean of the two is the reference)."""
    if bundle.prior is None:
        return {"error": "no prior"}
    n = images.shape[0]
    webp_before = webp_speed(images)
    lab = labels if getattr(bundle.prior.config, "num_classes", 0) else None
    names = [f"{i:04d}_{int(labels[i])}.png" for i in range(n)]
    t0 = time.perf_counter()
    codes = C.images_to_codes(bundle.vqvae, images)
    data = C.dlc_bytes(bundle, codes, names, lab)
    t_compress = time.perf_counter() - t0
    t0 = time.perf_counter()
    header, payload = C.parse_dlc(data)
    _, decoded = C.decode_dlc(header, payload, bundle)
    C.codes_to_images(bundle.vqvae, decoded)
    t_decompress = time.perf_counter() - t0
    t0 = time.perf_counter()
    C.ideal_bits(bundle.prior, C.images_to_codes(bundle.vqvae, images), lab)
    t_nll = time.perf_counter() - t0
    webp_after = webp_speed(images)
    webp = (webp_before + webp_after) / 2
    out = {"prior": bundle.prior.config.describe() if hasattr(bundle.prior.config, "describe") else "",
           "class_conditional": lab is not None, "round_trip_exact": bool(torch.equal(decoded, codes)),
           "file_bytes": len(data), "compress_images_per_s": n / t_compress,
           "decompress_images_per_s": n / t_decompress, "nll_images_per_s": n / t_nll,
           "webp_encode_images_per_s": webp, "webp_before_after": [webp_before, webp_after]}
    out["ratios"] = {
        "compress_over_webp": out["compress_images_per_s"] / webp, "compress_goal": 0.1,
        "decompress_over_webp": out["decompress_images_per_s"] / webp, "decompress_goal": 0.05,
        "nll_over_webp": out["nll_images_per_s"] / webp, "nll_goal": 1 / 3}
    return out


def small_file_goal(bundle, codes: torch.Tensor, names: list[str]) -> dict:
    """The whole .dlc file of these images against 1.01 x ideal -log2 p(z) + 3 bytes per image + 256 bytes."""
    n = codes.shape[0]
    data = C.dlc_bytes(bundle, codes, names)
    header, payload = C.parse_dlc(data)
    ideal_bytes = float(C.ideal_bits(bundle.prior, codes).sum()) / 8
    limit = 1.01 * ideal_bytes + 3 * n + 256
    no_names = len(C.dlc_bytes(bundle, codes, None))
    return {"images": n, "file_bytes": len(data), "payload_bytes": len(payload), "ideal_bytes": ideal_bytes,
            "names_bytes": len(data) - no_names, "file_bytes_without_names": no_names,
            "limit_bytes": limit, "met": len(data) <= limit}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(REPO / "trained_models" / "mnist"))
    ap.add_argument("--bundles", nargs="*", default=[], metavar="DIR",
                    help="more bundles whose speed (and file size) is measured on the same images")
    ap.add_argument("--names-goal", type=int, default=200, metavar="N",
                    help="the small-file goal is measured on the first N images named NNNN_L.png")
    ap.add_argument("--mnist", default=None, metavar="DIR",
                    help="MNIST IDX folder: use its last 1 000 digits (held out from training)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images")
    ap.add_argument("--threads", type=int, default=1, help="torch threads outside the coder (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    bundle = load_bundle(args.bundle)
    if bundle.prior is None:
        raise SystemExit(f"{args.bundle} has no prior")
    if args.mnist:
        held = load_data(DataConfig(name="mnist", root=args.mnist, holdout_last=1000)).val
        images, labels = held.images.numpy(), held.labels.numpy()
        source = f"MNIST held-out last 1000 of {args.mnist}"
    else:
        images, labels = bundle.examples.images.numpy(), bundle.examples.labels.numpy()
        source = "the bundle's example images"
    if args.limit:
        images, labels = images[:args.limit], labels[:args.limit]
    n = images.shape[0]

    speed(bundle, images[:64], labels[:64])       # warm-up, discarded: first calls (WebP's too) run slower
    speeds = {str(args.bundle): speed(bundle, images, labels)}
    for other in args.bundles:
        speeds[other] = speed(load_bundle(other), images, labels)
    codes = C.images_to_codes(bundle.vqvae, images)
    ideal = C.ideal_bits(bundle.prior, codes)
    t0 = time.perf_counter()
    payload, info = C.encode_with_stats(bundle.prior, codes, batch=min(n, C.BATCH))
    t_encode = time.perf_counter() - t0
    t0 = time.perf_counter()
    decoded = C.decode_grids(bundle.prior, payload, n, tuple(codes.shape[1:]), batch=min(n, C.BATCH))
    t_decode = time.perf_counter() - t0
    recon = C.codes_to_images(bundle.vqvae, decoded)
    mse = float(C.mse_uint8(images, recon).mean())
    names = [f"{i:04d}_{int(labels[i])}.png" for i in range(n)]
    file_bytes = len(C.dlc_bytes(bundle, codes, names))
    small = small_file_goal(bundle, codes[:args.names_goal], names[:args.names_goal])
    png = np.array([C.png_bytes(image) for image in images])
    rd = C.rate_distortion({"bundle": bundle}, images, known={"bundle": {
        "bits_per_image": 8 * len(payload) / n, "ideal_bits_per_image": float(ideal.mean()), "mse": mse,
        "psnr": C.psnr(mse)}})
    coded_total, ideal_total = 8.0 * len(payload), float(ideal.sum())
    h, w = codes.shape[1:]
    print(json.dumps(finite_or_none({
        "bundle": str(args.bundle), "fingerprint": C.bundle_fingerprint(bundle), "images": n, "source": source,
        "round_trip_exact": bool(torch.equal(decoded, codes)),
        "coded_bits_per_image": coded_total / n,
        "ideal_bits_per_image": ideal_total / n,
        "coding_conditionals_bits_per_image": float(info.mean()),
        "coded_over_ideal_percent": 100.0 * (coded_total / ideal_total - 1.0),
        "goal_1pct_plus_8_bytes": {"limit_bits_total": 1.01 * ideal_total + 64, "coded_bits_total": coded_total,
                                   "met": coded_total <= 1.01 * ideal_total + 64},
        "uniform_bits_per_image": h * w * math.log2(bundle.prior.config.num_codes),
        "dlc_file_bytes": file_bytes, "dlc_bits_per_image_with_header": 8.0 * file_bytes / n,
        "raw_bytes_per_image": int(images[0].size), "png_bytes_per_image": float(png.mean()),
        "png_bits_per_image": 8.0 * float(png.mean()),
        "mse": mse, "psnr_db": C.psnr(mse),
        "jpeg_bits_at_same_mse": rd["match"]["bundle"]["jpeg_bits"],
        "webp_bits_at_same_mse": rd["match"]["bundle"]["webp_bits"],
        "jpeg_curve": rd["jpeg"], "webp_curve": rd["webp"],
        "small_file_goal": small,
        "encode_images_per_s": n / t_encode, "decode_images_per_s": n / t_decode,
        "encode_s": t_encode, "decode_s": t_decode,
        "speed": speeds,
        "torch": torch.__version__, "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "torch_threads_outside_coder": args.threads, "coder_threads": 1,
        "load_average_start": load_start, "load_average_end": os.getloadavg(),
    }), indent=1, allow_nan=False))


if __name__ == "__main__":
    main()
