"""``compress`` / ``decompress``: images <-> a .dlc file of code grids coded with a bundle's prior.

    python -m explorer compress a.png digits/ --bundle B -o out.dlc [--no-names] [--labels-from-names]
    python -m explorer decompress out.dlc --bundle B -o DIR      # DIR/a.png, DIR/<each image>.png

Compression is lossy: the PNGs are the VQ-VAE's reconstructions (see explorer.core.compression).
Every error (a bad image, a corrupt or hostile .dlc file, another bundle) is one line on
stderr and exit code 2; decompress writes nothing unless every image decoded, and never
replaces a file, even one created while it was decoding. Text from a file is quoted in
messages only through ``shown`` (escaped, shortened).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

from .common import CliError

TMP_PREFIX = ".decompress-"          # decompress's staging folder inside -o
OWNER_FILE = ".owner.json"           # its marker: which process made it (so a later run may clean it up)
OWNER_PROGRAM = "discrete-latent-explorer decompress"


def add_compress_parsers(sub) -> None:
    """The ``compress`` and ``decompress`` subcommands."""
    c = sub.add_parser("compress", help="compress images into a .dlc file with a bundle's prior",
                       description="Encode images with the bundle's VQ-VAE and entropy-code their code grids "
                                   "with its prior (lossy: decompressing gives the VQ-VAE's reconstructions).")
    c.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files (.png, .jpg, ...) and folders (the images directly inside them)")
    c.add_argument("--bundle", required=True, metavar="DIR", help="bundle with a VQ-VAE and a prior")
    c.add_argument("-o", "--out", required=True, metavar="FILE.dlc",
                   help="the file to write (replaced atomically; never one of the inputs or inside an input folder)")
    c.add_argument("--no-names", action="store_true",
                   help="do not store the image names (decompress writes 000000.png, 000001.png, ...)")
    c.add_argument("--labels-from-names", action="store_true",
                   help="for a class-conditional prior: each image's class is the number after the last '_' of "
                        "its file name, e.g. 0001_7.png is a 7")
    d = sub.add_parser("decompress", help="decode a .dlc file into one PNG per image",
                       description="Decode a .dlc file with the bundle that made it: one PNG per image, "
                                   "named as the original images (extension .png), or 000000.png, ... for a "
                                   "file made with --no-names.")
    d.add_argument("file", metavar="FILE.dlc")
    d.add_argument("--bundle", required=True, metavar="DIR", help="the bundle the file was made with")
    d.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="folder for the PNGs (created if missing; existing files are never overwritten)")


def _p(path: object) -> str:
    """A path or name for a message: escaped and shortened like every file-provided text."""
    from ..core.compression import shown
    return shown(str(path), 120)


def _load(path: str, conditional_ok: bool):
    from ..core.bundle import load_bundle
    bundle = load_bundle(path, "cpu")
    if bundle.prior is None:
        raise CliError(f"{_p(path)} has no prior; train one with `python -m explorer train prior --bundle "
                       f"{_p(path)}`.")
    if getattr(bundle.prior.config, "num_classes", 0) and not conditional_ok:
        raise CliError(f"{_p(path)} has a class-conditional prior, which needs each image's class: name the images "
                       f"like 0001_7.png and add --labels-from-names, or use an unconditional bundle.")
    return bundle


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------
def _input_files(inputs: list[str]) -> tuple[list[Path], list[Path]]:
    """(image files, input folders) named on the command line."""
    from ..core.data.formats import IMAGE_EXTENSIONS
    from ..core.safe_io import missing_input_message
    files: list[Path] = []
    folders: list[Path] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                           and p.name.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise CliError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) directly in the folder {_p(path)}.")
            files += found
            folders.append(path)
        elif path.is_file():
            files.append(path)
        else:       # missing, a FIFO, a device, a dangling link: said as what it is
            raise CliError(missing_input_message(path, "image file or folder") + ".")
    return files, folders


def _output_overlaps_inputs(out: Path, files: list[Path], folders: list[Path]) -> str | None:
    """Why ``out`` must not be written (it is one of the inputs, or lies inside an input folder), or None.
    Symlinks and hard links are followed: the file that would really be replaced is compared."""
    target = Path(os.path.realpath(out))
    for file in files:
        same = Path(os.path.realpath(file)) == target
        if not same and out.exists():
            try:
                same = os.path.samefile(out, file)
            except OSError:
                same = False
        if same:
            return f"{_p(out)} is one of the input images; write the .dlc file somewhere else."
    for folder in folders:
        real = Path(os.path.realpath(folder))
        if target == real or real in target.parents:
            return f"{_p(out)} lies inside the input folder {_p(folder)}; write the .dlc file somewhere else."
    return None


def _labels_from_names(files: list[Path], num_classes: int) -> list[int]:
    labels = []
    for file in files:
        tail = file.stem.rpartition("_")[2]
        if not (tail.isascii() and tail.isdigit() and int(tail) < num_classes):
            raise CliError(f"{_p(file.name)}: --labels-from-names needs names ending in _<class> with a class in "
                           f"[0, {num_classes}), e.g. 0001_7.png.")
        labels.append(int(tail))
    return labels


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

    from ..core.compression import MAX_IMAGES, images_to_codes, name_problem, output_name, write_dlc
    from ..core.data import read_image_files

    out = Path(args.out)
    if out.is_dir():
        raise CliError(f"{_p(out)} is a folder; give the .dlc file to write, e.g. {_p(out / 'images.dlc')}.")
    if not out.parent.is_dir():
        raise CliError(f"The folder {_p(out.parent)} for {_p(out.name)} does not exist.")
    files, folders = _input_files(args.inputs)
    problem = _output_overlaps_inputs(out, files, folders)
    if problem:
        raise CliError(problem)
    if len(files) > MAX_IMAGES:
        raise CliError(f"{len(files)} images; one file holds at most {MAX_IMAGES}.")
    if not args.no_names:
        seen: dict[str, Path] = {}
        for file in files:
            problem = name_problem(file.name)
            if problem:
                raise CliError(f"{_p(file)}: {problem}; rename it or use --no-names.")
            key = output_name(file.name).casefold()
            if key in seen:
                raise CliError(f"{_p(seen[key])} and {_p(file)} would both decompress to "
                               f"{_p(output_name(file.name))}; rename one or use --no-names.")
            seen[key] = file
    bundle = _load(args.bundle, conditional_ok=args.labels_from_names)
    num_classes = int(getattr(bundle.prior.config, "num_classes", 0) or 0)
    if args.labels_from_names and not num_classes:
        raise CliError(f"{_p(args.bundle)} has an unconditional prior; --labels-from-names is for class-conditional "
                       f"priors only.")
    labels = _labels_from_names(files, num_classes) if num_classes else None
    cfg = bundle.vqvae.config
    images = read_image_files(files, image_size=cfg.image_size, grayscale=cfg.in_channels == 1)
    if images.shape[1] != cfg.in_channels:
        images = np.repeat(images, cfg.in_channels, axis=1)           # gray files for a colour model
    codes = images_to_codes(bundle.vqvae, images)
    update, bar = _progress_bar("encoding")
    with bar:
        size = write_dlc(out, bundle, codes, None if args.no_names else [f.name for f in files], labels,
                         progress=update)
    print(f"{len(files)} image(s) -> {_p(out)}: {size} bytes ({8 * size / len(files):.1f} bits per image with the "
          f"header; raw pixels take {images[0].size} bytes per image).")
    return 0


# --------------------------------------------------------------------------------------
# Decompress: the staging folder, its marker, and writing without replacing
# (the one place decompress creates files: safe_io's writers can take over at merge)
# --------------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError, OSError):
        return True                     # someone else's live process, or not a pid we can judge: keep
    return True


def _staging_folder(out: Path) -> Path:
    """A fresh private folder inside ``out`` with a marker naming this process."""
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=out))
    marker = {"program": OWNER_PROGRAM, "pid": os.getpid(), "host": socket.gethostname()}
    fd = os.open(tmp / OWNER_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(marker, f)
    return tmp


def clean_stale_staging(out: Path) -> int:
    """Remove staging folders a killed decompress left in ``out``; returns how many.

    Only folders this program made are touched: a real folder (not a link) named ``.decompress-*``,
    owned by this user, holding a marker written by decompress on this host whose process is gone,
    and nothing but PNG files and that marker. Anything else is left alone.
    """
    removed = 0
    try:
        entries = list(os.scandir(out))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(TMP_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            marker_path = os.path.join(entry.path, OWNER_FILE)
            info = os.lstat(marker_path)
            if not (info.st_size < 4096 and (info.st_mode & 0o170000) == 0o100000):
                continue
            with open(marker_path, "rb") as f:
                marker = json.loads(f.read(4096).decode("utf-8"))
            if not (isinstance(marker, dict) and marker.get("program") == OWNER_PROGRAM
                    and marker.get("host") == socket.gethostname() and isinstance(marker.get("pid"), int)
                    and not isinstance(marker.get("pid"), bool) and not _pid_alive(marker["pid"])):
                continue
            children = list(os.scandir(entry.path))
            if not all(c.name == OWNER_FILE or (c.name.endswith(".png") and c.is_file(follow_symlinks=False))
                       for c in children):
                continue
            for child in children:
                if child.name != OWNER_FILE:
                    os.unlink(child.path)
            os.unlink(marker_path)
            os.rmdir(entry.path)
            removed += 1
        except (OSError, ValueError):
            continue
    return removed


def _place_without_replacing(source: Path, target: Path) -> None:
    """Make ``target`` hold ``source``'s bytes, failing with FileExistsError if ``target`` exists at that
    moment (a hard link never replaces; where links are not supported, an O_EXCL copy)."""
    try:
        os.link(source, target, follow_symlinks=False)
        return
    except FileExistsError:
        raise
    except (OSError, NotImplementedError):
        pass                                          # e.g. a file system without hard links
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(source.read_bytes())
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _check_output_folder(out: Path) -> None:
    """Everything about -o that can be checked before decoding."""
    from ..core.safe_io import parent_folder_problem
    if out.is_symlink() and not out.exists():
        raise CliError(f"{_p(out)} is a symbolic link to nothing; give a folder.")
    if out.exists() and not out.is_dir():
        raise CliError(f"{_p(out)} exists and is not a folder.")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise CliError(f"The folder {_p(out)} is not writable.")
    else:
        problem = parent_folder_problem(out)
        if problem:
            raise CliError(f"Cannot create {_p(out)}: {_p(problem)}.")


def run_decompress(args: argparse.Namespace) -> int:
    import shutil

    from PIL import Image

    from ..core.compression import (CompressedFileError, check_bundle, codes_to_images, decode_dlc, output_names,
                                    read_dlc_parts)

    out = Path(args.out)
    _check_output_folder(out)
    bundle = _load(args.bundle, conditional_ok=True)
    try:
        header, payload = read_dlc_parts(args.file)       # every bound checked, nothing decoded
        check_bundle(header, bundle)
    except CompressedFileError as exc:
        raise CliError(f"{_p(args.file)}: {exc}") from None
    targets = output_names(header["names"], header["count"])
    for target in targets:                       # the header check refused separators, '..' and duplicates
        if Path(target).name != target or target in (".", ".."):
            raise CliError(f"{_p(args.file)}: the image name '{_p(target)}' is not a plain file name.")
        if (out / target).exists() or (out / target).is_symlink():
            raise CliError(f"{_p(out / target)} already exists; decompress into an empty or new folder.")
    update, bar = _progress_bar("decoding")
    try:
        with bar:
            _, codes = decode_dlc(header, payload, bundle, progress=update)
    except CompressedFileError as exc:
        raise CliError(f"{_p(args.file)}: {exc}") from None
    images = codes_to_images(bundle.vqvae, codes)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"Cannot create the folder {_p(out)}: {exc.strerror or exc}.") from None
    clean_stale_staging(out)
    tmp = _staging_folder(out)
    placed: list[Path] = []
    try:
        for target, image in zip(targets, images):
            pil = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
            pil.save(tmp / target, format="PNG")
        for target in targets:                   # every PNG is written: now place them, never replacing
            try:
                _place_without_replacing(tmp / target, out / target)
            except FileExistsError:
                raise CliError(f"{_p(out / target)} appeared while decoding; nothing was written.") from None
            placed.append(out / target)
    except BaseException:
        for path in placed:                      # undo: no partial output (these are the links we made)
            path.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if created:
            try:
                out.rmdir()                      # only if still empty: never delete what others put there
            except OSError:
                pass
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(targets)} image(s) -> {_p(out)}", file=sys.stdout)
    return 0
