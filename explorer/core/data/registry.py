"""The dataset registry: which datasets the app knows, where their files are looked for on this
computer, and how they are fetched (torchvision's mirrors, checked against its MD5 sums).

Only file names and headers are read here; pixels are read by :mod:`.datasets` (the pool and
the splits) through the safe readers of :mod:`.formats`. Functions taking a ``cfg`` need only its
``name``, ``root``, ``limit``, ``holdout_last``, ``val_fraction`` and ``classes``
(a :class:`.datasets.DataConfig`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .formats import DataError


@dataclass(frozen=True)
class DatasetSpec:
    """What the registry knows about one dataset."""
    name: str                      # registry name, e.g. "fashion-mnist"
    title: str                     # human-readable name, e.g. "Fashion-MNIST"
    channels: int                  # image channels (1 gray, 3 RGB)
    image_size: int                # native height = width in pixels
    class_names: tuple[str, ...]   # label i is class_names[i]
    torchvision_class: str         # class in torchvision.datasets that downloads it
    folder: str                    # where torchvision keeps the files under ROOT, e.g. "MNIST/raw"
    file_format: str               # "idx" (images + labels files) or "cifar" (pickled batches)
    train_files: tuple[str, ...]   # idx: (images, labels) base names; cifar: batch names
    test_files: tuple[str, ...]    # same for the test part

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


_IDX_TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
_IDX_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec("mnist", "MNIST", 1, 28, tuple("0123456789"), "MNIST", "MNIST/raw", "idx",
                         _IDX_TRAIN, _IDX_TEST),
    "fashion-mnist": DatasetSpec("fashion-mnist", "Fashion-MNIST", 1, 28,
                                 ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                  "Sneaker", "Bag", "Ankle boot"), "FashionMNIST", "FashionMNIST/raw", "idx",
                                 _IDX_TRAIN, _IDX_TEST),
    "kmnist": DatasetSpec("kmnist", "Kuzushiji-MNIST", 1, 28,
                          ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"), "KMNIST", "KMNIST/raw",
                          "idx", _IDX_TRAIN, _IDX_TEST),
    "cifar10": DatasetSpec("cifar10", "CIFAR-10", 3, 32,
                           ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                            "truck"), "CIFAR10", "cifar-10-batches-py", "cifar",
                           tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",)),
}


APP_DIR_NAME = "discrete-latent-explorer"


def default_data_root() -> Path:
    """Where datasets live unless a folder is chosen: $DLE_DATA_ROOT, else the per-user data folder
    (platformdirs: ~/.local/share/discrete-latent-explorer/data on Linux, %LOCALAPPDATA%\\... on
    Windows, ~/Library/Application Support/... on macOS)."""
    override = os.environ.get("DLE_DATA_ROOT")
    if override:
        return Path(override).expanduser()
    import platformdirs
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False)) / "data"


def usable_root(root: str | None) -> str | None:
    """``root`` if that folder exists on this machine, else None (= :func:`default_data_root`).

    A bundle's recorded data folder from another machine (or an old relative path) is no use
    here: the per-user default folder is looked in instead.
    """
    return root if root and Path(root).expanduser().is_dir() else None


# ---------------------------------------------------------------------------- locating files


def _candidate_dirs(spec: DatasetSpec, root: Path) -> list[Path]:
    """Folders searched for a registry dataset's files, in order of preference."""
    dirs = [root / spec.folder, root / spec.folder.split("/")[0], root / spec.name, root / "raw", root]
    return list(dict.fromkeys(dirs))


def _find_file(folder: Path, base: str) -> Path | None:
    for candidate in (folder / base, folder / f"{base}.gz", folder / base.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    return None


def _find_parts(spec: DatasetSpec, folder: Path) -> list[list[Path]]:
    """The complete parts (train, test) present in one folder, each as its list of files."""
    parts: list[list[Path]] = []
    for names in (spec.train_files, spec.test_files):
        if spec.file_format == "idx":
            images, labels = _find_file(folder, names[0]), _find_file(folder, names[1])
            if images is not None and labels is None:
                raise DataError(f"Found {images} but not its labels file {names[1]}[.gz] next to it.")
            if images is not None and labels is not None:
                parts.append([images, labels])
        else:
            batches = [folder / b for b in names if (folder / b).is_file()]
            if batches:
                parts.append(batches)
    return parts


def _locate(spec: DatasetSpec, root: Path) -> tuple[list[list[Path]], bool]:
    """The best folder's parts (the one with the most files) and whether the dataset is complete there."""
    best: list[list[Path]] = []
    for folder in _candidate_dirs(spec, root):
        if folder.is_dir():
            parts = _find_parts(spec, folder)
            if sum(map(len, parts)) > sum(map(len, best)):
                best = parts
    complete = sum(map(len, best)) == (2 * 2 if spec.file_format == "idx"
                                       else len(spec.train_files) + len(spec.test_files))
    return best, complete


def _missing_message(spec: DatasetSpec, root: Path) -> str:
    if spec.file_format == "idx":
        wanted = ", ".join(f"{n}[.gz]" for n in spec.train_files + spec.test_files)
        wanted += " (either the train-* or the t10k-* pair is enough)"
    else:
        wanted = ", ".join(spec.train_files + spec.test_files) + " (any of them is enough)"
    folders = "\n".join(f"  {d}" for d in _candidate_dirs(spec, root))
    return (f"{spec.title} was not found on this computer. Looked for {wanted} in:\n{folders}\n"
            f"To fix: copy the files into one of these folders, point --data-root (DataConfig.root) at the "
            f"folder that holds them, or allow downloading with --download (needs internet).")


def _download_with_torchvision(spec: DatasetSpec, root: Path) -> None:
    """Let torchvision fetch the dataset into ROOT (torchvision layout). Network errors propagate."""
    import torchvision.datasets as tv_datasets

    root.mkdir(parents=True, exist_ok=True)
    if spec.file_format == "cifar":
        # Download and extract only: torchvision's CIFAR10 class would unpickle the batches plainly.
        from torchvision.datasets.utils import download_and_extract_archive
        cifar = tv_datasets.CIFAR10
        download_and_extract_archive(cifar.url, str(root), filename=cifar.filename, md5=cifar.tgz_md5)
    else:
        getattr(tv_datasets, spec.torchvision_class)(root=str(root), train=False, download=True)


def missing_data_message(cfg: Any) -> str | None:
    """Why :func:`load_data` would not find ``cfg``'s registry dataset (None: found, or a folder
    dataset, whose problems load_data reports itself). Only looks for files: cheap."""
    spec = DATASETS.get(cfg.name.strip().lower().replace("_", "-"))
    if spec is None:
        return None
    root = Path(cfg.root).expanduser() if cfg.root else default_data_root()
    parts, _ = _locate(spec, root)
    return None if parts else _missing_message(spec, root)


def count_training_images(cfg: Any) -> int | None:
    """About how many training images ``cfg`` gives, from the files' headers only (no pixels
    read); None when unknown (folder datasets, missing files). Class filters count pro rata."""
    spec = DATASETS.get(cfg.name.strip().lower().replace("_", "-"))
    if spec is None:
        return None
    root = Path(cfg.root).expanduser() if cfg.root else default_data_root()
    try:
        parts, _ = _locate(spec, root)
        if spec.file_format == "idx":
            from .formats import _open_maybe_gzip
            pool = 0
            for files in parts:
                with _open_maybe_gzip(files[0]) as stream:
                    pool += int.from_bytes(stream.read(8)[4:8], "big")
        else:
            pool = 10_000 * sum(map(len, parts))
    except (OSError, DataError, ValueError):
        return None
    if not pool:
        return None
    pool = min(pool, cfg.limit) if cfg.limit else pool
    train = pool - cfg.holdout_last if cfg.holdout_last > 0 else pool - round(pool * cfg.val_fraction)
    if cfg.classes is not None:
        train = train * len(cfg.classes) // spec.num_classes
    return max(0, train)


def download_dataset(cfg: Any, chunk_bytes: int = 1 << 16) -> Iterator[tuple[float, str]]:
    """Download ``cfg``'s registry dataset into its folder (``cfg.root`` or the default one),
    yielding ``(fraction done, what is happening)`` as it goes; closing the generator cancels.

    IDX datasets are fetched file by file from torchvision's mirrors, checked against
    torchvision's MD5 sums and moved into place only when complete (ROOT/MNIST/raw/*.gz).
    Network errors raise DataError with a plain message.
    """
    import hashlib
    import urllib.request

    import torchvision.datasets as tv_datasets

    spec = DATASETS.get(cfg.name.strip().lower().replace("_", "-"))
    if spec is None:
        raise DataError(f"{cfg.name} is not a dataset that can be downloaded.")
    root = Path(cfg.root).expanduser() if cfg.root else default_data_root()
    if spec.file_format != "idx":
        yield 0.0, f"Downloading {spec.title} into {root} …"
        try:
            _download_with_torchvision(spec, root)
        except Exception as exc:  # no network, server error, unwritable folder ...
            raise DataError(f"Downloading {spec.title} failed ({type(exc).__name__}: {exc}).") from None
        yield 1.0, f"{spec.title} is in {root}."
        return
    source = getattr(tv_datasets, spec.torchvision_class)
    folder = root / spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    resources = list(source.resources)
    for i, (filename, md5) in enumerate(resources):
        target = folder / filename
        if target.is_file():
            continue
        errors = []
        for mirror in source.mirrors:
            url = f"{mirror}{filename}"
            partial = folder / f".{filename}.part"
            try:
                digest = hashlib.md5()
                with urllib.request.urlopen(url, timeout=30) as response, open(partial, "wb") as out:
                    size, done = int(response.headers.get("Content-Length") or 0), 0
                    while chunk := response.read(chunk_bytes):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        within = done / size if size else 0.0
                        yield (i + min(within, 1.0)) / len(resources), \
                            f"Downloading {filename} ({done / 2**20:.1f} MB)"
                if digest.hexdigest() != md5:
                    raise DataError(f"{url} arrived damaged (checksum mismatch)")
                os.replace(partial, target)
                break
            except (OSError, DataError) as exc:
                errors.append(f"{url}: {exc}")
            finally:
                partial.unlink(missing_ok=True)
        else:
            raise DataError(f"Could not download {spec.title} ({'; '.join(errors)}). Check the internet "
                            f"connection, or copy the files into {folder}.")
    yield 1.0, f"{spec.title} is in {root}."
