"""``compress`` / ``decompress``: images <-> a .dlc file of code grids coded with a bundle's prior.

    python -m explorer compress a.png digits/ --bundle B -o out.dlc
    python -m explorer decompress out.dlc --bundle B -o DIR      # DIR/a.png, DIR/<each image>.png

Compression is lossy: the PNGs are the VQ-VAE's reconstructions (see explorer.core.compression).
Every error (a bad image, a corrupt or hostile .dlc file, another bundle) is one line on
stderr and exit code 2; decompress writes nothing unless every image decoded.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .common import CliError


def add_compress_parsers(sub) -> None:
    """The ``compress`` and ``decompress`` subcommands."""
    c = sub.add_parser("compress", help="compress images into a .dlc file with a bundle's prior",
                       description="Encode images with the bundle's VQ-VAE and entropy-code their code grids "
                                   "with its prior (lossy: decompressing gives the VQ-VAE's reconstructions).")
    c.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files (.png, .jpg, ...) and folders (the images directly inside them)")
    c.add_argument("--bundle", required=True, metavar="DIR", help="bundle with a VQ-VAE and a prior")
    c.add_argument("-o", "--out", required=True, metavar="FILE.dlc", help="the file to write (replaced atomically)")
    d = sub.add_parser("decompress", help="decode a .dlc file into one PNG per image",
                       description="Decode a .dlc file with the bundle that made it: one PNG per image, "
                                   "named as the original images (extension .png).")
    d.add_argument("file", metavar="FILE.dlc")
    d.add_argument("--bundle", required=True, metavar="DIR", help="the bundle the file was made with")
    d.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="folder for the PNGs (created if missing; existing files are never overwritten)")


def _load(path: str):
    from ..core.bundle import load_bundle
    bundle = load_bundle(path, "cpu")
    if bundle.prior is None:
        raise CliError(f"{path} has no prior; train one with `python -m explorer train prior --bundle {path}`.")
    if bundle.prior.config.num_classes:
        raise CliError(f"{path} has a class-conditional prior, which needs each image's class; the command line "
                       f"compresses with unconditional priors only.")
    return bundle


def _input_files(inputs: list[str]) -> list[Path]:
    from ..core.data.formats import IMAGE_EXTENSIONS
    files: list[Path] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                           and p.name.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise CliError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) directly in the folder {path}.")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise CliError(f"No such image file or folder: {path}.")
    return files


class _Bar:
    """The shared progress bar on stderr, only on a terminal; erased (not kept) when the command fails,
    so an error stays the only line."""

    def __init__(self) -> None:
        from .common import ProgressBar
        self.bar = ProgressBar(enabled=sys.stderr.isatty())

    def __enter__(self) -> "_Bar":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.bar.finish()
        elif self.bar._shown:
            sys.stderr.write("\r" + " " * self.bar._shown + "\r")
            self.bar._shown = 0


def _progress_bar(what: str):
    """A (done, total) callback drawing a progress bar, and the bar (a context manager)."""
    import time

    bar, start = _Bar(), time.monotonic()

    def update(done: int, total: int) -> None:
        elapsed = time.monotonic() - start
        eta = elapsed / done * (total - done) if done else float("nan")
        bar.bar.update(done, total, f"{what} {done / max(elapsed, 1e-9):.1f} images/s", eta, force=done == total)

    return update, bar


def run_compress(args: argparse.Namespace) -> int:
    import numpy as np

    from ..core.compression import MAX_IMAGES, images_to_codes, name_problem, output_name, png_bytes, write_dlc
    from ..core.data import read_image_files

    out = Path(args.out)
    if out.is_dir():
        raise CliError(f"{out} is a folder; give the .dlc file to write, e.g. {out / 'images.dlc'}.")
    if not out.parent.is_dir():
        raise CliError(f"The folder {out.parent} for {out.name} does not exist.")
    files = _input_files(args.inputs)
    if len(files) > MAX_IMAGES:
        raise CliError(f"{len(files)} images; one file holds at most {MAX_IMAGES}.")
    seen: dict[str, Path] = {}
    for file in files:
        problem = name_problem(file.name)
        if problem:
            raise CliError(f"{file}: {problem}.")
        key = output_name(file.name).casefold()
        if key in seen:
            raise CliError(f"{seen[key]} and {file} would both decompress to {output_name(file.name)}; rename one.")
        seen[key] = file
    bundle = _load(args.bundle)
    cfg = bundle.vqvae.config
    images = read_image_files(files, image_size=cfg.image_size, grayscale=cfg.in_channels == 1)
    if images.shape[1] != cfg.in_channels:
        images = np.repeat(images, cfg.in_channels, axis=1)           # gray files for a colour model
    codes = images_to_codes(bundle.vqvae, images)
    update, bar = _progress_bar("encoding")
    with bar:
        size = write_dlc(out, bundle, codes, [f.name for f in files], progress=update)
    png = sum(png_bytes(image) for image in images)
    print(f"{len(files)} image(s) -> {out}: {size} bytes ({8 * size / len(files):.1f} bits per image with the "
          f"header); their PNGs take {png} bytes (lossless).")
    return 0


def run_decompress(args: argparse.Namespace) -> int:
    from PIL import Image

    from ..core.compression import CompressedFileError, codes_to_images, output_name, read_dlc, read_dlc_header

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"{out} exists and is not a folder.")
    bundle = _load(args.bundle)
    try:
        names = read_dlc_header(args.file)["names"]
    except CompressedFileError as exc:
        raise CliError(f"{args.file}: {exc}") from None
    targets = [output_name(name) for name in names]
    for target in targets:                       # the header check refused separators, '..' and duplicates
        if Path(target).name != target or target in (".", ".."):
            raise CliError(f"{args.file}: the image name {target!r} is not a plain file name.")
        if (out / target).exists() or (out / target).is_symlink():
            raise CliError(f"{out / target} already exists; decompress into an empty or new folder.")
    update, bar = _progress_bar("decoding")
    try:
        with bar:
            read_names, codes = read_dlc(args.file, bundle, progress=update)
    except CompressedFileError as exc:
        raise CliError(f"{args.file}: {exc}") from None
    if read_names != names:
        raise CliError(f"{args.file} changed while it was being read.")
    images = codes_to_images(bundle.vqvae, codes)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".decompress-", dir=out))
    moved: list[Path] = []
    try:
        for target, image in zip(targets, images):
            pil = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
            pil.save(tmp / target, format="PNG")
        for target in targets:                   # every PNG is written: now move them in
            os.replace(tmp / target, out / target)
            moved.append(out / target)
    except BaseException:
        for path in moved:                       # undo: no partial output (these did not exist before)
            path.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(names)} image(s) -> {out}", file=sys.stdout)
    return 0
