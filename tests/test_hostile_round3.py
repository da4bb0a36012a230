"""Hostile input, round 3 (issue 22): images are decoded only in the formats this program
supports and only after their size is checked; saves never delete or move a folder they did not
create; outputs never replace special files and honour the umask; IDX and zip directories are
bounded before anything is allocated; numeric flags are checked at parse time.

Each test failed before its fix. The fuzz tests (hypothesis, modest max_examples and a deadline
per example) check that image files and bundle folders give one error type, with a plain message.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import stat
import struct
import threading
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from explorer.core.bundle import SAVE_MARKER, BundleError, check_save_target, load_bundle, recover_interrupted_save
from explorer.core.data import DataConfig, DataError, list_image_folder, load_data, read_idx, read_image_files
from explorer.core.data import datasets as datasets_module
from explorer.core.data.images import MAX_IMAGE_PIXELS, SUPPORTED_FORMATS, image_to_uint8, read_image_file
from explorer.core.grid_files import GridFileError, save_grid
from explorer.core.safe_io import UnsafeOutput, missing_input_message, write_file_atomically, zip_directory_problem
from memory_helpers import traced_peak
from test_bundle import assert_plain, make_bundle
from test_hostile_files import _load_only_bundle_errors, _npy, _zip

FUZZ = settings(max_examples=60, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
EXPLORER = Path(__file__).resolve().parents[1] / "explorer"
MARKER_FORMAT = "discrete-latent-explorer-bundle/save"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good3") / "model"
    make_bundle().save(path)
    load_bundle(path)                                 # lazy imports done here, not in a timed example
    return path


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield 0o022
    os.umask(old)


def _encoded(fmt: str, mode: str = "L", size: tuple[int, int] = (12, 10), **save) -> bytes:
    rng = np.random.default_rng(0)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65536, size[::-1], dtype=np.uint16))
    elif mode == "F":
        image = Image.fromarray(rng.random(size[::-1], dtype=np.float32) * 300)
    else:
        channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode if mode in ("L", "RGB", "RGBA") else "L"]
        pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
        image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
        if mode not in ("L", "RGB", "RGBA"):
            image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
       b"newpath 0 0 moveto 10 10 lineto stroke showpage\n%%EOF\n")


# ====================================================================== 1. formats allow-list
def test_a_postscript_file_named_png_is_never_handed_to_the_eps_plugin(tmp_path: Path, monkeypatch) -> None:
    from PIL import EpsImagePlugin
    opened: list[str] = []

    def record(self, *args, **kwargs):
        opened.append("eps")                          # Ghostscript would run when this image is loaded
        raise SyntaxError("not reached after the fix")
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", record)
    (tmp_path / "a.png").write_bytes(EPS)
    with pytest.raises(DataError, match="not a supported image file") as info:
        read_image_files([tmp_path / "a.png"])
    assert opened == [] and "a.png" in str(info.value)
    assert_plain(info.value)


@pytest.mark.parametrize("fmt", ["TIFF", "PPM", "ICO", "TGA"])
def test_other_formats_named_png_are_refused(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "b.png").write_bytes(_encoded(fmt, "RGB" if fmt in ("TGA", "ICO") else "L", (16, 16)))
    with pytest.raises(DataError, match="not a supported image file"):
        read_image_file(tmp_path / "b.png")


@pytest.mark.parametrize("fmt", SUPPORTED_FORMATS)
def test_supported_formats_still_read_whatever_their_extension(tmp_path: Path, fmt: str) -> None:
    blob = _encoded(fmt, "RGB", (12, 10), **({"lossless": True} if fmt == "WEBP" else {}))
    (tmp_path / "x.jpg").write_bytes(blob)
    array = read_image_file(tmp_path / "x.jpg")
    assert array.dtype == np.uint8 and array.shape[:2] == (10, 12)


def test_every_image_decoded_in_explorer_goes_through_the_one_reader() -> None:
    """Image.open appears only in core/data/images.py (with its formats allow-list); the codec's
    measure.py re-opens bytes Pillow itself just encoded (PNG/JPEG/WebP from arrays)."""
    allowed = {EXPLORER / "core" / "data" / "images.py", EXPLORER / "core" / "compression" / "measure.py"}
    offenders = [str(p.relative_to(EXPLORER)) for p in EXPLORER.rglob("*.py")
                 if re.search(r"Image\.open\(|ImageFile\.Parser|Image\.frombytes\(", p.read_text()) and p not in allowed]
    assert offenders == []
    assert "formats=" in (EXPLORER / "core" / "data" / "images.py").read_text()


# ====================================================================== 2. recovery touches only marked folders
def _user_folder(path: Path, text: str = "mine") -> Path:
    path.mkdir()
    (path / "notes.txt").write_text(text)
    return path


@pytest.mark.parametrize("name", [".model.old-2024-backup", ".model.old-20240101", ".model.tmp-1999",
                                  ".model.old-999999999-abcd1234", ".model.tmp-999999999-x"])
def test_loading_and_saving_a_bundle_never_touch_a_users_sibling_folders(good: Path, tmp_path: Path, name) -> None:
    path = tmp_path / "model"
    shutil.copytree(good, path)
    sibling = _user_folder(tmp_path / name)
    load_bundle(path)
    assert (sibling / "notes.txt").read_text() == "mine"
    make_bundle(seed=3).save(path)
    assert (sibling / "notes.txt").read_text() == "mine"


def test_loading_a_missing_bundle_never_moves_a_users_folder_into_place(tmp_path: Path) -> None:
    sibling = _user_folder(tmp_path / ".mdl.old-2023")
    with pytest.raises(BundleError, match="No bundle folder"):
        load_bundle(tmp_path / "mdl")
    assert not (tmp_path / "mdl").exists() and (sibling / "notes.txt").read_text() == "mine"


def test_a_marker_for_another_bundle_or_id_does_not_count(tmp_path: Path) -> None:
    wrong_target = _user_folder(tmp_path / ".mdl.old-999999999-aa")
    (wrong_target / SAVE_MARKER).write_text(json.dumps({"format": MARKER_FORMAT, "role": "old", "target": "other",
                                                        "id": "aa", "pid": 999999999}))
    wrong_id = _user_folder(tmp_path / ".mdl.tmp-999999999-bb")
    (wrong_id / SAVE_MARKER).write_text(json.dumps({"format": MARKER_FORMAT, "role": "tmp", "target": "mdl",
                                                    "id": "cc", "pid": 999999999}))
    assert recover_interrupted_save(tmp_path / "mdl") is False
    assert (wrong_target / "notes.txt").exists() and (wrong_id / "notes.txt").exists()


def test_the_saved_bundle_holds_no_marker_and_a_marked_leftover_is_recovered(good: Path, tmp_path: Path) -> None:
    path = tmp_path / "m"
    shutil.copytree(good, path)
    make_bundle(seed=4).save(path)
    assert not (path / SAVE_MARKER).exists()
    moved = tmp_path / ".m.old-999999999-0a0b"
    os.replace(path, moved)                       # what a save killed between its renames leaves
    (moved / SAVE_MARKER).write_text(json.dumps({"format": MARKER_FORMAT, "role": "old", "target": "m",
                                                 "id": "0a0b", "pid": 999999999}))
    load_bundle(path)
    assert not moved.exists() and not (path / SAVE_MARKER).exists()


_names = st.one_of(st.text(st.sampled_from("abm.-_0123456789old tmp"), min_size=1, max_size=24),
                  st.builds("{}-{}-{}".format, st.sampled_from(["old", "tmp"]),
                            st.sampled_from(["999999999", "1", "2024", "0"]), st.text("abc0123", min_size=1, max_size=4)))


@FUZZ
@given(suffix=_names, marker=st.one_of(st.none(), st.fixed_dictionaries(
    {"format": st.sampled_from([MARKER_FORMAT, "x"]), "role": st.sampled_from(["old", "tmp", "new"]),
     "target": st.sampled_from(["m", "n", ""]), "id": st.text("abc0123", max_size=4),
     "pid": st.sampled_from([999999999, 1, 0])})))
def test_fuzz_sibling_folders_survive_unless_marked_by_a_save_of_this_path(tmp_path_factory, suffix: str,
                                                                           marker) -> None:
    parent = tmp_path_factory.mktemp("sib")
    name = f".m.{suffix}"
    if name in (".", ".."):
        return
    sibling = _user_folder(parent / name)
    if marker is not None:
        (sibling / SAVE_MARKER).write_text(json.dumps(marker))
    recover_interrupted_save(parent / "m")
    match = re.fullmatch(r"\.m\.(old|tmp)-(\d{1,10})-([A-Za-z0-9_]{1,32})", name)
    ours = (match is not None and marker is not None and marker["format"] == MARKER_FORMAT
            and marker["role"] == match.group(1) and marker["target"] == "m" and marker["id"] == match.group(3)
            and marker["pid"] == int(match.group(2)) and marker["pid"] == 999999999)
    if not ours:
        assert (sibling / "notes.txt").read_text() == "mine"
        assert not (parent / "m").exists()


# ====================================================================== 4. outputs: special files and umask
def _special(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        (path.parent / "target.bin").write_bytes(b"precious")
        path.symlink_to(path.parent / "target.bin")
    elif kind == "dangling":
        path.symlink_to(path.parent / "nowhere" / "x")
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("only root can make a device node")
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))     # a copy of /dev/null
    else:
        path.mkdir()


@pytest.mark.parametrize("kind", ["fifo", "symlink", "dangling", "device", "folder"])
def test_exports_and_grid_saves_never_replace_special_files(tmp_path: Path, kind: str) -> None:
    from explorer.ui.sampling.export import save_gif, save_png
    frame = Image.new("RGB", (8, 8))
    for name, write in [("f.png", lambda p: save_png(frame, p)), ("f.gif", lambda p: save_gif([frame, frame], p)),
                        ("g.npy", lambda p: save_grid(p, np.zeros((2, 2)), 4))]:
        path = tmp_path / name
        _special(path, kind)
        before = os.lstat(path)
        with pytest.raises((UnsafeOutput, GridFileError)) as info:
            write(path)
        assert "not a regular file" in str(info.value) or "folder" in str(info.value)
        after = os.lstat(path)
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        if kind == "symlink":
            assert (tmp_path / "target.bin").read_bytes() == b"precious"
        shutil.rmtree(path) if kind == "folder" else path.unlink()
        (tmp_path / "target.bin").unlink(missing_ok=True)


def test_the_editors_grid_save_reports_a_fifo_and_leaves_it(qtbot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QWidget

    from explorer.ui.editor.grid_files import GridFiles
    parent = QWidget()
    qtbot.addWidget(parent)
    files = GridFiles(parent, lambda: (4, (2, 2)))
    os.mkfifo(tmp_path / "grid.npy")
    with qtbot.waitSignal(files.error, timeout=5000) as signal:
        assert files.save(str(tmp_path / "grid.npy"), np.zeros((2, 2), dtype=np.int64)) is False
    assert "FIFO" in signal.args[0] and stat.S_ISFIFO(os.lstat(tmp_path / "grid.npy").st_mode)


def test_new_output_files_honour_the_umask_and_replaced_ones_keep_their_mode(tmp_path: Path, umask_022) -> None:
    from explorer.ui.sampling.export import save_png
    save_png(Image.new("RGB", (4, 4)), tmp_path / "a.png")
    save_grid(tmp_path / "g.json", np.zeros((2, 2)), 4)
    assert stat.S_IMODE(os.stat(tmp_path / "a.png").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "g.json").st_mode) == 0o644
    os.chmod(tmp_path / "g.json", 0o640)
    save_grid(tmp_path / "g.json", np.ones((2, 2)), 4)
    assert stat.S_IMODE(os.stat(tmp_path / "g.json").st_mode) == 0o640
    assert json.loads((tmp_path / "g.json").read_text())["codes"] == [[1, 1], [1, 1]]


def test_a_special_file_appearing_during_the_write_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "late.png"
    with pytest.raises(UnsafeOutput, match="FIFO"):
        write_file_atomically(path, lambda f: (f.write(b"x"), os.mkfifo(path)))
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_sample_out_refuses_a_symlink(tmp_path: Path) -> None:
    from explorer.cli.common import CliError, check_output_file
    (tmp_path / "real.png").write_bytes(b"keep")
    (tmp_path / "link.png").symlink_to(tmp_path / "real.png")
    with pytest.raises(CliError, match="symbolic link"):
        check_output_file(tmp_path / "link.png")


# ====================================================================== 7. a save keeps user folders and modes
def test_a_user_folder_named_like_a_bundle_file_is_never_deleted(good: Path, tmp_path: Path) -> None:
    path = tmp_path / "m"
    shutil.copytree(good, path)
    (path / "examples.npz").unlink()
    _user_folder(path / "examples.npz", "my work")
    with pytest.raises(BundleError, match="folder named examples.npz"):
        check_save_target(path)
    with pytest.raises(BundleError, match="folder named examples.npz"):
        make_bundle(seed=2).save(path)
    assert (path / "examples.npz" / "notes.txt").read_text() == "my work"


@pytest.mark.parametrize("mode", [0o2775, 0o750, 0o1777])
def test_saving_into_an_empty_folder_keeps_its_mode(tmp_path: Path, umask_022, mode: int) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    os.chmod(target, mode)
    make_bundle().save(target)
    assert stat.S_IMODE(os.stat(target).st_mode) == mode
    make_bundle(seed=1).save(target)                  # re-saving over the bundle keeps it too
    assert stat.S_IMODE(os.stat(target).st_mode) == mode


def test_a_new_bundle_in_a_setgid_folder_keeps_the_inherited_setgid_bit(tmp_path: Path, umask_022) -> None:
    os.chmod(tmp_path, 0o2775)
    make_bundle().save(tmp_path / "new")
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o2755
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "config.json").st_mode) == 0o644


# ====================================================================== 10. regular files only in folder datasets
def _with_timeout(fn, seconds: float = 10.0):
    result: dict = {}

    def body():
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            result["error"] = exc
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread.is_alive(), result


def test_a_fifo_in_a_class_subfolder_is_skipped_not_read(tmp_path: Path) -> None:
    (tmp_path / "cls").mkdir()
    Image.new("L", (8, 8), 200).save(tmp_path / "cls" / "a.png")
    fifo = tmp_path / "cls" / "b.png"
    os.mkfifo(fifo)
    hung, result = _with_timeout(lambda: load_data(DataConfig(name=f"folder:{tmp_path}", val_fraction=0.0)))
    if hung:                                          # unblock the reader before failing
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    assert not hung, "reading a FIFO blocked"
    assert "error" not in result, result.get("error")
    assert list_image_folder(tmp_path).files == [tmp_path / "cls" / "a.png"]


def test_the_reader_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "c.png"
    os.mkfifo(fifo)
    hung, result = _with_timeout(lambda: read_image_files([fifo]), 5.0)
    assert not hung
    assert isinstance(result.get("error"), DataError) and "FIFO" in str(result["error"])


def test_registry_readers_refuse_a_fifo_without_blocking(tmp_path: Path) -> None:
    from explorer.core.data import read_cifar_batch
    for name, reader in [("t10k-images-idx3-ubyte", read_idx), ("data_batch_1", read_cifar_batch)]:
        os.mkfifo(tmp_path / name)
        hung, result = _with_timeout(lambda: reader(tmp_path / name), 5.0)
        if hung:
            os.close(os.open(tmp_path / name, os.O_WRONLY | os.O_NONBLOCK))
        assert not hung and isinstance(result.get("error"), DataError) and "FIFO" in str(result["error"])


# ====================================================================== 11. IDX gzip bombs
def _gzip_of_zeros(header: bytes, n_bytes: int) -> bytes:
    """A valid gzip file of ``header`` + ``n_bytes`` zeros, built in milliseconds: one deflated
    1 MiB block of zeros ended by a full flush is repeated (each copy stands alone)."""
    block = 1 << 20
    assert n_bytes % block == 0
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = raw.compress(header) + raw.flush(zlib.Z_FULL_FLUSH)
    one = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = one.compress(bytes(block)) + one.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    zeros, crc = bytes(block), zlib.crc32(header)
    for _ in range(n_bytes // block):
        crc = zlib.crc32(zeros, crc)
    size = (len(header) + n_bytes) & 0xFFFFFFFF
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + head + piece * (n_bytes // block) + tail
            + struct.pack("<II", crc, size))


def test_an_idx_header_announcing_more_than_the_cap_is_refused_before_decompressing(tmp_path: Path) -> None:
    header = b"\x00\x00\x08\x03" + struct.pack(">III", 2_000, 1_000, 1_000)      # 2 GB, under the old 2 GiB cap
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(header + bytes(1 << 20)))
    start = time.perf_counter()
    with pytest.raises(DataError, match="allowed"):
        read_idx(tmp_path / "bomb.gz")
    assert time.perf_counter() - start < 1.0


def test_an_idx_header_announcing_more_than_deflate_can_hold_is_refused(tmp_path: Path) -> None:
    header = b"\x00\x00\x08\x03" + struct.pack(">III", 100_000, 28, 28)           # 78 MB from ~100 bytes
    (tmp_path / "liar.gz").write_bytes(gzip.compress(header))
    with pytest.raises(DataError, match="compressed bytes can hold"):
        read_idx(tmp_path / "liar.gz")


def test_an_honest_idx_bomb_under_the_cap_takes_one_buffer_not_two(tmp_path: Path) -> None:
    n = 64 << 20                                           # 64 MiB of zeros in about 70 KB
    header = b"\x00\x00\x08\x03" + struct.pack(">III", n // 1024, 32, 32)
    (tmp_path / "honest.gz").write_bytes(_gzip_of_zeros(header, n))
    assert (tmp_path / "honest.gz").stat().st_size < 1 << 20
    array, peak = traced_peak(read_idx, tmp_path / "honest.gz")
    assert array.shape == (n // 1024, 32, 32) and not array.any()
    assert peak < 1.3 * n, f"peak {peak / n:.2f} x the data"


def test_idx_files_of_the_wrong_kind_are_refused_from_their_header(tmp_path: Path) -> None:
    from explorer.core.data.datasets import _idx_check
    path = tmp_path / "f.idx"
    path.write_bytes(b"\x00\x00\x0d\x03" + struct.pack(">III", 100, 28, 28))      # float32, no data needed
    with pytest.raises(DataError, match="expected uint8 images"):
        read_idx(path, _idx_check(path, "images (n, h, w)", 3))


# ====================================================================== 12. large images in small files
def _png_header_only(width: int, height: int, bit_depth: int = 16, colour: int = 0) -> bytes:
    """A PNG claiming width x height whose pixel data is a run of zero rows (a few hundred KB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = bytes(1 + width * bit_depth // 8 * (3 if colour == 2 else 1))
    one = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = one.compress(row) + one.flush(zlib.Z_FULL_FLUSH)
    idat = b"\x78\xda" + piece * min(height, 64) + zlib.compressobj(9, zlib.DEFLATED, -15).flush() + b"\0\0\0\0"
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("width, height, depth, colour", [(13_000, 13_000, 16, 0), (9_400, 9_400, 8, 2),
                                                           (6_000, 6_000, 8, 0), (1, 40_000_000, 8, 0)])
def test_an_image_larger_than_the_cap_is_refused_before_decoding(tmp_path: Path, width, height, depth,
                                                                  colour) -> None:
    assert width * height > MAX_IMAGE_PIXELS
    (tmp_path / "big.png").write_bytes(_png_header_only(width, height, depth, colour))
    def refused():
        with pytest.raises(DataError, match="pixels allowed") as info:
            read_image_files([tmp_path / "big.png"], image_size=28)
        return info
    start = time.perf_counter()
    info, peak = traced_peak(refused)
    assert time.perf_counter() - start < 1.0 and peak < 16 << 20
    assert f"{width}x{height}" in str(info.value)


def test_sixteen_bit_images_convert_without_float64_copies(tmp_path: Path) -> None:
    side = 1500
    values = np.arange(side * side, dtype=np.uint32).reshape(side, side) % 65536
    Image.fromarray(values.astype(np.uint16)).save(tmp_path / "deep.png")
    array, peak = traced_peak(read_image_file, tmp_path / "deep.png")
    expected = np.floor(values / 257 + 0.5).astype(np.uint8)
    assert np.array_equal(array, expected)
    assert peak < 8 * side * side, f"{peak / side / side:.1f} bytes per pixel"      # float64 alone is 8


def test_float_pixels_with_nan_convert_without_a_numpy_warning() -> None:
    image = Image.fromarray(np.array([[np.nan, 1e30], [-5.0, 100.4]], dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        array = image_to_uint8(image)
    assert array.tolist() == [[0, 255], [0, 100]]


def test_a_nan_float_tiff_named_png_is_refused_quietly(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.fromarray(np.full((4, 4), np.nan, dtype=np.float32)).save(out, format="TIFF")
    (tmp_path / "nan.png").write_bytes(out.getvalue())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match="not a supported image file"):
            read_image_file(tmp_path / "nan.png")


# ====================================================================== 13. zip directories that lie
def _lying_end_record(blob: bytes, count: int) -> bytes:
    at = blob.rfind(b"PK\x05\x06")
    return blob[:at + 8] + struct.pack("<HH", count, count) + blob[at + 12:]


def test_an_examples_zip_whose_end_record_lies_is_counted_as_it_is(good: Path, tmp_path: Path) -> None:
    path = tmp_path / "m"
    shutil.copytree(good, path)
    members = {"images.npy": _npy({"descr": "|u1", "fortran_order": False, "shape": (1, 1, 28, 28)}, bytes(784))}
    members.update({f"pad{i}.npy": b"" for i in range(3000)})
    (path / "examples.npz").write_bytes(_lying_end_record(_zip(members, zipfile.ZIP_STORED), 2))
    start = time.perf_counter()
    with pytest.raises(BundleError, match="directory takes|more than 8 entries") as info:
        load_bundle(path)
    assert time.perf_counter() - start < 1.0
    assert_plain(info.value)


def test_huge_extra_fields_in_a_zip_directory_are_refused_before_parsing() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for i in range(4):
            info = zipfile.ZipInfo(f"m{i}.npy")
            info.extra = struct.pack("<HH", 0xCAFE, 60_000) + bytes(60_000)
            zf.writestr(info, b"")
    blob = _lying_end_record(out.getvalue(), 2)
    assert "directory takes" in zip_directory_problem(blob, 8, 1 << 14)


def test_numpy_written_examples_pass_the_directory_check(good: Path) -> None:
    assert zip_directory_problem((good / "examples.npz").read_bytes(), 8, 1 << 14) is None


# ====================================================================== 15, 16. numeric flags, early checks
def _numeric_actions(parser, prefix=()):
    import argparse
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _numeric_actions(sub, prefix + (name,))
        elif action.option_strings and action.type is not None and action.type not in (str,) \
                and getattr(action.type, "__name__", "") not in ("_classes_arg",):
            yield prefix, action


def _required(prefix) -> list[str]:
    need = {"vqvae": ["--out", "o"], "prior": ["--bundle", "b"], "sample": ["--bundle", "b", "--out", "o.png"],
            "evaluate": ["--bundle", "b"], "ensemble": ["--bundle", "a", "--bundle", "b", "--out", "o"],
            "score": ["x.png", "--bundle", "b"], "compress": ["x.png", "--bundle", "b", "-o", "o.dlc"],
            "decompress": ["x.dlc", "--bundle", "b", "-o", "d"], "screenshot": ["--panel", "p", "--out", "o.png"]}
    return need.get(prefix[-1], [])


@pytest.mark.parametrize("text", ["1e308", "nan", "inf", "-inf"])
def test_every_numeric_flag_refuses_non_finite_and_absurd_values_at_parse_time(text: str, capsys) -> None:
    from explorer.cli.parser import build_parser
    parser = build_parser()
    checked = 0
    for prefix, action in _numeric_actions(parser):
        flag = action.option_strings[-1]
        with pytest.raises(SystemExit) as info:
            parser.parse_args([*prefix, *_required(prefix), flag, text])
        assert info.value.code == 2, f"{' '.join(prefix)} {flag} {text} was accepted"
        checked += 1
    assert checked > 20
    assert "Traceback" not in capsys.readouterr().err


def test_evaluate_refuses_a_mismatched_image_size_before_loading_any_image(good: Path, monkeypatch) -> None:
    from explorer.cli import inspect as inspect_cli
    from test_cli import assert_plain_error, run
    calls: list = []
    monkeypatch.setattr(inspect_cli, "load_data", lambda cfg: calls.append(cfg) or pytest.fail("data loaded"))
    code, _, err = run("evaluate", "--bundle", str(good), "--image-size", "1024", "--device", "cpu")
    assert_plain_error(code, err, "--image-size 1024", "28x28")
    assert calls == []


def test_resizing_is_bounded_before_any_chunk_is_converted(monkeypatch) -> None:
    chunks: list[int] = []

    def interpolate(x, **kwargs):
        chunks.append(x.numel())
        raise AssertionError("stop")
    monkeypatch.setattr(datasets_module.F, "interpolate", interpolate)
    with pytest.raises(DataError, match="GiB"):
        datasets_module._convert(torch.zeros((5000, 1, 28, 28), dtype=torch.uint8), 1024, False)
    assert chunks == []
    with pytest.raises(AssertionError):
        datasets_module._convert(torch.zeros((3000, 1, 28, 28), dtype=torch.uint8), 512, False)
    assert chunks and chunks[0] * 512 * 512 // (28 * 28) * 4 <= 256 << 20


# ====================================================================== 18. wording
def test_a_fifo_input_is_called_a_fifo_not_missing(tmp_path: Path) -> None:
    from explorer.cli.common import CliError
    from explorer.cli.score import image_files
    os.mkfifo(tmp_path / "in.png")
    with pytest.raises(CliError, match=r"is a FIFO \(named pipe\)"):
        image_files([str(tmp_path / "in.png")])
    assert missing_input_message(tmp_path / "gone.png").startswith("no such file or folder")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere")
    assert "symbolic link" in missing_input_message(tmp_path / "dangling.png")


# ====================================================================== fuzz: image inputs
_SEEDS = {
    "png-gray": _encoded("PNG", "L"), "png-rgba": _encoded("PNG", "RGBA"), "png-16": _encoded("PNG", "I;16"),
    "png-palette": _encoded("PNG", "P"), "jpeg": _encoded("JPEG", "RGB"), "gif": _encoded("GIF", "P"),
    "bmp": _encoded("BMP", "RGB"), "webp": _encoded("WEBP", "RGB", lossless=True), "tiff": _encoded("TIFF", "F"),
    "eps": EPS, "empty": b"",
}


@FUZZ
@given(data=st.data())
def test_fuzz_image_files_give_an_array_or_one_plain_data_error(tmp_path_factory, data) -> None:
    blob = bytearray(_SEEDS[data.draw(st.sampled_from(sorted(_SEEDS)))])
    how = data.draw(st.sampled_from(["flip", "truncate", "size", "splice"]))
    if how == "flip" and blob:
        for _ in range(data.draw(st.integers(1, 12))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    elif how == "truncate":
        blob = blob[:data.draw(st.integers(0, len(blob)))]
    elif how == "size" and len(blob) > 30:           # big numbers where headers keep their dimensions
        at = data.draw(st.integers(0, min(len(blob), 64) - 4))
        blob[at:at + 4] = struct.pack(">I", data.draw(st.integers(0, 2 ** 32 - 1)))
    else:
        at = data.draw(st.integers(0, len(blob)))
        blob[at:at] = data.draw(st.binary(max_size=64))
    path = tmp_path_factory.mktemp("img") / "fuzz.png"
    path.write_bytes(bytes(blob))
    start = time.perf_counter()
    try:
        array = read_image_file(path)
    except DataError as exc:
        assert_plain(exc)
        assert "fuzz.png" in str(exc)
    else:
        assert array.dtype == np.uint8 and array.ndim in (2, 3) and array.size <= 3 * MAX_IMAGE_PIXELS
    assert time.perf_counter() - start < 1.5


# ====================================================================== fuzz: bundle folders
@FUZZ
@given(data=st.data())
def test_fuzz_bundle_folder_files_give_only_bundle_errors(good: Path, tmp_path_factory, data) -> None:
    """Any file of a bundle (config, weights as safetensors or .pt, examples.npz, its zip directory)
    cut short or with bytes changed: load_bundle raises BundleError only, quickly."""
    path = tmp_path_factory.mktemp("bf") / "b"
    shutil.copytree(good, path)
    target = data.draw(st.sampled_from(["config.json", "vqvae.safetensors", "prior.safetensors", "examples.npz",
                                        "examples-directory", "vqvae.pt"]))
    if target == "vqvae.pt":
        state = load_bundle(path).vqvae.state_dict()
        torch.save(state, path / "vqvae.pt")
        config = json.loads((path / "config.json").read_text())
        config["vqvae"]["weights"] = "vqvae.pt"
        (path / "config.json").write_text(json.dumps(config))
    file = path / ("examples.npz" if target == "examples-directory" else target)
    blob = bytearray(file.read_bytes())
    if target == "examples-directory":                # the central directory and end record
        low = max(0, blob.rfind(b"PK\x01\x02", 0, len(blob)) - 100)
    else:
        low = 0
    how = data.draw(st.sampled_from(["flip", "truncate"]))
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            blob[data.draw(st.integers(low, len(blob) - 1))] = data.draw(st.integers(0, 255))
    else:
        blob = blob[:data.draw(st.integers(low, len(blob)))]
    file.write_bytes(bytes(blob))
    _load_only_bundle_errors(path)
