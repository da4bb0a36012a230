"""Reading a bundle's data files as untrusted input: weight files and ``examples.npz``.

Weights are safetensors (a plain tensor container: loading one cannot run code), or torch
archives loaded with ``weights_only=True`` after their zip directory is bounded. A model is built
on the "meta" device first, so every tensor's expected name, shape and dtype is known, and a
file's header must match before any weight data are read (:func:`restore_model`). Float files
(float16 included) are widened to the model's dtype; NaN or infinite weights are refused.

``examples.npz`` is checked member by member from the .npy headers before anything is
decompressed (:func:`read_examples`). Every failure raises :class:`BundleError` with a plain
message (the loader in :mod:`.bundle` adds nothing else).
"""
from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .config import describe_value
from .data import ImageSet
from .models.vqvae import VQVAEConfig
from .safe_io import UnsafeInput, describe_error, read_npy, read_regular_file, zip_directory_problem

MAX_EXAMPLES_FILE_BYTES = 64 << 20  # examples.npz on disk
MAX_EXAMPLES_BYTES = 64 << 20      # each decompressed array in examples.npz
MAX_EXAMPLES = 4096                # images in examples.npz
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
_FLOAT_STORAGE = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64}
_EXACT_STORAGE = {torch.bool: "BOOL", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}


class BundleError(Exception):
    """A bundle folder is missing, corrupt, from an unknown version, or inconsistent; or a save
    would replace something that is not a bundle."""


def restore_model(factory, config, file: Path, what: str) -> nn.Module:
    """Build the model from ``config`` and fill it from ``file``, checking the file first.

    The config's limits and size estimate have already bounded the model; its skeleton is
    built on the "meta" device (no storage) to know every tensor's name, shape and dtype, and
    the weights file's header must match before any weight data are read.
    """
    try:
        with torch.device("meta"):
            skeleton = factory(config)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise BundleError(f"config.json: the {what} configuration cannot be built ({describe_error(exc, 100)}).") \
            from None
    expected = {k: (tuple(v.shape), v.dtype) for k, v in skeleton.state_dict().items()}
    state = _read_weights(file, expected, what)
    model = factory(config)
    model.load_state_dict(state, strict=True)
    return model


def _check_names(file: Path, expected: dict, names: list, what: str) -> None:
    bad_keys = [k for k in names if not isinstance(k, str)]
    if bad_keys:
        raise BundleError(f"The {what} weights file {file.name} has names that are not text "
                          f"({describe_value(bad_keys[:3])}).")
    missing = sorted(set(expected) - set(names))
    unexpected = sorted(set(names) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}")
        if unexpected:
            parts.append(f"unexpected {', '.join(describe_value(k) for k in unexpected[:5])}")
        raise BundleError(f"The {what} weights in {file.name} do not match config.json: {'; '.join(parts)}.")


def _check_tensor(file: Path, name: str, shape: tuple, storage: str, expected: tuple, what: str) -> None:
    want_shape, want_dtype = expected
    if tuple(shape) != want_shape:
        raise BundleError(f"The {what} weights in {file.name} do not match config.json: {name} is "
                          f"{tuple(shape)} but the config needs {want_shape}.")
    ok = storage in _FLOAT_STORAGE if want_dtype.is_floating_point else storage == _EXACT_STORAGE.get(want_dtype)
    if not ok:
        need = "a float tensor (float32 or float16)" if want_dtype.is_floating_point else \
            f"a {str(want_dtype).removeprefix('torch.')} tensor"
        raise BundleError(f"The {what} weights file {file.name} stores {name} as {storage}; it must be {need}.")


def _storage_name(dtype: torch.dtype) -> str:
    for name, d in _FLOAT_STORAGE.items():
        if d == dtype:
            return name
    return _EXACT_STORAGE.get(dtype, str(dtype).removeprefix("torch."))


def _read_weights(file: Path, expected: dict[str, tuple], what: str) -> dict[str, torch.Tensor]:
    """The tensors of ``file``, converted to the model's dtypes, after checking names, shapes and dtypes."""
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise BundleError(f"The weights file {file.name} is missing from {file.parent}.") from None
    except OSError as exc:
        raise BundleError(f"Cannot read the weights file {file.name}: {describe_error(exc, 80)}.") from None
    if not stat.S_ISREG(info.st_mode):
        raise BundleError(f"The weights file {file.name} is not a regular file.")
    numel = sum(int(np.prod(shape)) for shape, _ in expected.values())
    if info.st_size > numel * 8 + (16 << 20):
        raise BundleError(f"The weights file {file.name} is {info.st_size:,} bytes, far more than the "
                          f"{what} described in config.json needs.")
    if file.suffix == ".safetensors":
        from safetensors import safe_open
        try:
            with safe_open(str(file), framework="pt") as f:
                names = list(f.keys())
                _check_names(file, expected, names, what)
                for name in names:
                    piece = f.get_slice(name)
                    _check_tensor(file, name, piece.get_shape(), piece.get_dtype(), expected[name], what)
                state = {name: f.get_tensor(name) for name in names}
        except BundleError:
            raise
        except Exception as exc:  # SafetensorError, OSError, ...: the file is damaged
            raise BundleError(f"The weights file {file.name} is truncated or corrupt "
                              f"({describe_error(exc, 100)}).") from None
    elif file.suffix in (".pt", ".pth", ".bin"):
        _check_torch_archive(file, numel * 8 + (1 << 20))
        try:
            state = torch.load(file, map_location="cpu", weights_only=True)
        except Exception as exc:  # UnpicklingError for anything beyond plain tensors
            raise BundleError(f"The weights file {file.name} was refused: it is corrupt or contains "
                              f"code, which is never run ({type(exc).__name__}).") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise BundleError(f"The weights file {file.name} does not hold a plain name -> tensor mapping.")
        _check_names(file, expected, list(state), what)
        for name, tensor in state.items():
            _check_tensor(file, name, tuple(tensor.shape), _storage_name(tensor.dtype), expected[name], what)
    else:
        raise BundleError(f"Unsupported weights file type {file.name}; expected .safetensors or .pt.")
    out = {}
    for name, tensor in state.items():
        tensor = tensor.to(expected[name][1])
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise BundleError(f"The {what} weights in {file.name} contain NaN or infinite values ({name}).")
        out[name] = tensor
    return out


def _check_torch_archive(file: Path, max_bytes: int) -> None:
    """A torch.save zip may hold compressed records: refuse one declaring more data than the model needs."""
    try:
        with open(file, "rb") as f:
            head = f.read(4)
        if head != b"PK\x03\x04":
            return                                    # legacy format: bounded by the file size already
        with open(file, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - (4 << 20) - 65_700))   # the directory and end records
            problem = zip_directory_problem(f.read(), 10_000, 4 << 20)
        if problem is not None:
            raise BundleError(f"The weights file {file.name} is refused: {problem}.")
        with zipfile.ZipFile(file) as zf:
            declared = sum(info.file_size for info in zf.infolist())
    except BundleError:
        raise
    except Exception as exc:  # BadZipFile, OSError: torch.load would fail the same way
        raise BundleError(f"The weights file {file.name} is truncated or corrupt ({type(exc).__name__}).") from None
    if declared > max_bytes:
        raise BundleError(f"The weights file {file.name} would unpack to {declared:,} bytes, far more than the "
                          f"model described in config.json needs.")


# ----------------------------------------------------------------------------------------- examples
def read_examples(path: Path, name: str | None, vq_cfg: VQVAEConfig, num_classes: int) -> ImageSet | None:
    """examples.npz, checked member by member from the .npy headers before anything is decompressed."""
    if not name:
        return None
    file = path / name
    if not os.path.lexists(file):
        raise BundleError(f"The examples file {name} is missing from {path}.")
    try:
        raw = read_regular_file(file, MAX_EXAMPLES_FILE_BYTES)
    except UnsafeInput as exc:
        raise BundleError(f"The examples file cannot be read: {exc}.") from None
    want = (vq_cfg.in_channels, vq_cfg.image_size, vq_cfg.image_size)

    def images_ok(dtype: np.dtype, shape: tuple) -> None:
        if dtype != np.uint8 or len(shape) != 4 or shape[1:] != want or shape[0] > MAX_EXAMPLES:
            raise UnsafeInput(f"images must be uint8 of shape (N <= {MAX_EXAMPLES}, {', '.join(map(str, want))}), "
                              f"not {dtype} {shape}")

    problem = zip_directory_problem(raw, 8, 1 << 14)     # counted as they really are, before zipfile parses
    if problem is not None:
        raise BundleError(f"The examples file {name} is refused: {problem}; it should hold images and labels.")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            images = _npz_member(zf, "images", images_ok)

            def labels_ok(dtype: np.dtype, shape: tuple) -> None:
                if dtype.kind not in "iu" or dtype.itemsize > 8 or shape != (images.shape[0],):
                    raise UnsafeInput(f"labels must be {images.shape[0]} whole numbers, not {dtype} {shape}")

            labels = _npz_member(zf, "labels", labels_ok)
    except UnsafeInput as exc:
        raise BundleError(f"The examples in {name} are refused: {exc}.") from None
    except Exception as exc:  # BadZipFile, zlib.error, NotImplementedError (compression), ...
        raise BundleError(f"The examples file {name} is corrupt ({type(exc).__name__}).") from None
    check_example_labels(labels, name, num_classes)
    return ImageSet(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


def check_example_labels(labels: np.ndarray, name: str, num_classes: int) -> None:
    """Labels are -1 (unknown) or a class the prior knows (any class below 2**31 without a conditional prior)."""
    if labels.size and (int(labels.min()) < -1 or (num_classes and int(labels.max()) >= num_classes)
                        or int(labels.max()) >= 1 << 31):
        raise BundleError(f"The examples in {name} have labels outside -1..{(num_classes or 1 << 31) - 1}.")


def _npz_member(zf: zipfile.ZipFile, key: str, check) -> np.ndarray:
    try:
        info = zf.getinfo(f"{key}.npy")
    except KeyError:
        raise UnsafeInput(f"there is no '{key}' array") from None
    if info.file_size > MAX_EXAMPLES_BYTES + 4096:
        raise UnsafeInput(f"'{key}' would decompress to {info.file_size:,} bytes, more than allowed")
    with zf.open(info) as stream:
        return read_npy(stream, check, MAX_EXAMPLES_BYTES)
