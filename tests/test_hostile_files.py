"""Hostile files and folders: saves never lose data, loaders never hang, blow up memory or leak
an error type other than the promised one (BundleError, GridFileError). Hypothesis fuzzes the
bundle config, the safetensors header, examples.npz and grid files."""
from __future__ import annotations

import io
import json
import os
import resource
import shutil
import struct
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.core.bundle import (MAX_EXAMPLES, SAVE_MARKER, Bundle, BundleError, check_save_target, load_bundle,
                                  recover_interrupted_save)
from explorer.core.config import MAX_PARAMETERS
from explorer.core.grid_files import GridFileError, load_grid, save_grid
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.vqvae import VQVAE, VQVAEConfig
from explorer.core.training import PriorTrainConfig
from test_bundle import _edit_config, assert_plain, leftovers, make_bundle, snapshot
from memory_helpers import traced_peak

FUZZ = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow], derandomize=True)
GB = 1 << 30


def _rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024      # Linux reports KiB


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A tiny saved bundle (VQ-VAE K=16 on 28x28, class-conditional prior, 5 examples); never modified."""
    path = tmp_path_factory.mktemp("good") / "bundle"
    make_bundle().save(path)
    return path


@pytest.fixture
def copy_of(good: Path, tmp_path: Path):
    def make(name: str = "b") -> Path:
        dest = tmp_path / name
        shutil.copytree(good, dest)
        return dest
    return make


def refused(path: Path, *needles: str) -> BundleError:
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    assert_plain(info.value)
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    return info.value


# ============================================================================ saving never loses data
def test_saving_over_a_folder_that_only_has_a_config_json_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "thesis.tex").write_text("years of work")
    with pytest.raises(BundleError, match="not a model bundle"):
        make_bundle().save(folder)
    assert (folder / "thesis.tex").read_text() == "years of work"
    assert (folder / "config.json").read_text() == "{}"
    assert leftovers(tmp_path) == []


def test_saving_over_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "model"
    file.write_text("not a folder")
    with pytest.raises(BundleError, match="is a file"):
        make_bundle().save(file)
    assert file.read_text() == "not a folder"


def test_resaving_a_bundle_keeps_the_users_files(copy_of) -> None:
    path = copy_of()
    (path / "notes.txt").write_text("my notes")
    (path / "MODEL_CARD.md").write_text("card")
    (path / "plots").mkdir()
    (path / "plots" / "loss.png").write_bytes(b"png")
    (path / "link").symlink_to("notes.txt")
    newer = make_bundle(with_prior=False, seed=1)
    newer.save(path)
    assert (path / "notes.txt").read_text() == "my notes"
    assert (path / "MODEL_CARD.md").read_text() == "card"
    assert (path / "plots" / "loss.png").read_bytes() == b"png"
    assert os.readlink(path / "link") == "notes.txt"
    assert not (path / "prior.safetensors").exists()           # the bundle's own obsolete file goes
    assert load_bundle(path).prior is None
    assert leftovers(path.parent) == []


def test_resaving_removes_weights_the_old_config_named(copy_of) -> None:
    path = copy_of()
    good = load_bundle(path)
    torch.save(good.vqvae.state_dict(), path / "vqvae.pt")
    _edit_config(path, lambda c: c["vqvae"].update(weights="vqvae.pt"))
    (path / "vqvae.safetensors").unlink()
    load_bundle(path).save(path)
    assert not (path / "vqvae.pt").exists() and (path / "vqvae.safetensors").exists()


def test_save_as_copies_the_model_card_but_never_through_a_symlink(copy_of, tmp_path: Path) -> None:
    source = copy_of("source")
    (source / "MODEL_CARD.md").write_text("# tiny model\nTrained for a test.")
    load_bundle(source).save(tmp_path / "copy")
    assert (tmp_path / "copy" / "MODEL_CARD.md").read_text() == "# tiny model\nTrained for a test."

    secret = tmp_path / "secret.txt"
    secret.write_text("private key")
    (source / "MODEL_CARD.md").unlink()
    (source / "MODEL_CARD.md").symlink_to(secret)
    load_bundle(source).save(tmp_path / "copy2")
    assert not os.path.lexists(tmp_path / "copy2" / "MODEL_CARD.md")
    assert "private key" not in json.dumps(snapshot(tmp_path / "copy2"), default=str)


class Killed(BaseException):
    """What a kill between the two renames of a save looks like to the code after it: nothing runs."""


def test_a_save_killed_between_the_renames_is_repaired_by_the_next_load(copy_of, monkeypatch) -> None:
    path = copy_of()
    before = snapshot(path)
    real_replace, calls = os.replace, []

    def replace_then_die(src, dst):
        calls.append((src, dst))
        if len(calls) == 1:
            return real_replace(src, dst)              # the old bundle moves aside ...
        raise Killed()                                 # ... and the process dies (no restore either)
    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(Killed):
        make_bundle(seed=5).save(path)
    monkeypatch.setattr(os, "replace", real_replace)
    assert not path.exists()
    assert any(".old-" in name for name in leftovers(path.parent))
    stale_tmp = path.parent / f".{path.name}.tmp-999999999-abc"       # a killed save of a dead process
    stale_tmp.mkdir()
    (stale_tmp / "vqvae.safetensors").write_bytes(b"half written")
    (stale_tmp / SAVE_MARKER).write_text(json.dumps({"format": "discrete-latent-explorer-bundle/save", "role": "tmp",
                                                     "target": path.name, "id": "abc", "pid": 999999999}))

    load_bundle(path)                                  # finds the leftover and puts it back
    assert snapshot(path) == before
    assert leftovers(path.parent) == []


def test_a_save_killed_between_the_renames_is_repaired_by_the_next_save(copy_of, monkeypatch) -> None:
    path = copy_of()
    (path / "notes.txt").write_text("keep me")
    real_replace, calls = os.replace, []

    def replace_then_die(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            return real_replace(src, dst)
        raise Killed()
    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(Killed):
        make_bundle(seed=5).save(path)
    monkeypatch.setattr(os, "replace", real_replace)
    make_bundle(seed=6).save(path)
    assert (path / "notes.txt").read_text() == "keep me"
    assert leftovers(path.parent) == []
    load_bundle(path)


def test_leftovers_of_a_running_save_are_left_alone(copy_of) -> None:
    path = copy_of()
    busy = path.parent / f".{path.name}.tmp-1-xyz"        # pid 1 is always alive
    busy.mkdir()
    assert recover_interrupted_save(path) is False
    assert busy.exists()


def test_check_save_target(tmp_path: Path, good: Path) -> None:
    assert check_save_target(tmp_path / "new" / "deeper") is None
    assert check_save_target(good)["format"] == "discrete-latent-explorer-bundle"
    (tmp_path / "empty").mkdir()
    assert check_save_target(tmp_path / "empty") is None
    (tmp_path / "file").write_text("x")
    with pytest.raises(BundleError, match="is a file"):
        check_save_target(tmp_path / "file")
    with pytest.raises(BundleError, match="not a folder"):
        check_save_target(tmp_path / "file" / "sub")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    with pytest.raises(BundleError, match="not a model bundle"):
        check_save_target(tmp_path / "docs")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_save_target_refuses_an_unwritable_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(BundleError, match="not writable"):
            check_save_target(locked / "bundle")
    finally:
        locked.chmod(0o700)


# ============================================================================ configs: bounded sizes
@pytest.mark.parametrize("section, field, value", [
    ("vqvae", "res_blocks", 65536), ("vqvae", "encoder_res_blocks", 65536), ("vqvae", "hidden_channels", 10 ** 9),
    ("vqvae", "num_codes", 70000), ("vqvae", "image_size", 10 ** 6), ("prior", "members", 65536),
    ("prior", "layers", 65536), ("prior", "channels", 1 << 20), ("prior", "kernel_size", 4),
    ("prior", "dropout", 2.0), ("vqvae", "beta", float("nan")), ("prior", "num_classes", True),
])
def test_absurd_config_values_are_refused_at_once_naming_the_field(copy_of, section, field, value) -> None:
    path = copy_of()
    _edit_config(path, lambda c: c[section]["config"].update({field: value}))
    start = time.perf_counter()
    refused(path, field)
    assert time.perf_counter() - start < 2.0


def test_the_size_estimate_refuses_models_within_every_field_limit(copy_of) -> None:
    path = copy_of()
    huge = dict(channels=1024, layers=64, head_channels=4096, members=32)
    _edit_config(path, lambda c: c["prior"]["config"].update(huge))
    start = time.perf_counter()
    refused(path, "weights", "allowed")
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("config", [
    VQVAEConfig(hidden_channels=10, res_channels=6, num_codes=7, code_dim=5, in_channels=3, image_size=32,
                downsample=8, res_blocks=2, encoder_res_blocks=-1),
    VQVAEConfig(quantizer="gumbel", downsample=1, encoder_kernel=3, hidden_channels=8, res_channels=4,
                image_size=8),
    PriorConfig(kind="gated", num_classes=3, members=2, channels=6, layers=3, kernel_size=5, head_channels=9,
                num_codes=11, height=4, width=5),
    PriorConfig(kind="plain", positional=False, channels=6, layers=2, first_kernel=3, head_channels=9,
                num_codes=11, height=4, width=5),
])
def test_size_estimate_equals_the_built_models_state(config) -> None:
    model = VQVAE(config) if isinstance(config, VQVAEConfig) else build_prior(config)
    assert config.state_size() == sum(t.numel() for t in model.state_dict().values())
    assert config.state_size() <= MAX_PARAMETERS


def test_encoder_res_blocks_minus_one_is_valid_everywhere(tmp_path: Path) -> None:
    bundle = make_bundle(with_prior=False)
    bundle.vqvae = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, res_blocks=1, num_codes=16, code_dim=4,
                                     encoder_res_blocks=-1))
    bundle.save(tmp_path / "b")
    assert load_bundle(tmp_path / "b").vqvae.config.encoder_res_blocks == -1


def test_train_config_limits() -> None:
    for bad in (dict(augment_shifts=1000), dict(epochs=float("nan")), dict(lr=float("inf")), dict(seed=2 ** 70),
                dict(batch_size=0), dict(lr=0.0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            PriorTrainConfig(**bad)


# ============================================================================ config.json: only BundleError
HOSTILE_CONFIGS = {
    "weights_dtype is a list": (lambda c: c.update(weights_dtype=[]), "weights_dtype"),
    "weights_dtype is an object": (lambda c: c.update(weights_dtype={}), "weights_dtype"),
    "version is true": (lambda c: c.update(version=True), "version"),
    "name is a list": (lambda c: c.update(name=["x"]), "name"),
    "examples is a number": (lambda c: c.update(examples=5), "examples"),
    "examples name of 300 characters": (lambda c: c.update(examples="e" * 296 + ".npz"), "examples"),
    "examples outside the folder": (lambda c: c.update(examples="../examples.npz"), "examples"),
    "weights name of 300 characters": (lambda c: c["vqvae"].update(weights="w" * 300 + ".safetensors"), "weights"),
    "weights name with a NUL": (lambda c: c["vqvae"].update(weights="a\x00.safetensors"), "weights"),
    "config is a list": (lambda c: c["vqvae"].update(config=[1]), "config"),
    "data root is a number": (lambda c: c.update(data={"root": 5, "limit": "x"}), "data"),
    "data limit is infinite": (lambda c: c.update(data={"limit": 1e400}), "data"),
    "data classes is text": (lambda c: c.update(data={"classes": "1-4"}), "data"),
    "metric is text": (lambda c: c.update(metrics={"mse": "low"}), "mse"),
    "prior grid 8x8, VQ-VAE grid 7x7": (lambda c: c["prior"]["config"].update(height=8, width=8), "8x8"),
    "prior K differs": (lambda c: c["prior"]["config"].update(num_codes=8), "K=8"),
    "data resized to another size": (lambda c: c.update(data={"image_size": 32}), "32"),
    "data classes beyond the prior's": (lambda c: c.update(data={"classes": [3, 12]}), "12"),
}


@pytest.mark.parametrize("case", list(HOSTILE_CONFIGS))
def test_hostile_config_values_raise_bundle_error(copy_of, case: str) -> None:
    path = copy_of()
    edit, needle = HOSTILE_CONFIGS[case]
    _edit_config(path, edit)
    refused(path, needle)


@pytest.mark.parametrize("text", [
    '{"format": "discrete-latent-explorer-bundle", "version": 1, "x": 1' + "1" * 400 + '.0}',
    '{"format": "discrete-latent-explorer-bundle", "version": 1' + "0" * 5000 + '}',
    "[" * 100_000 + "]" * 100_000,
    '{"a": ' * 5000 + "1" + "}" * 5000,
    "\ufeff{}",
    "\x00\xff",
])
def test_hostile_config_text_raises_bundle_error(copy_of, text: str) -> None:
    path = copy_of()
    (path / "config.json").write_bytes(text.encode("utf-8", "surrogatepass"))
    refused(path)


def test_a_300_character_number_in_a_weights_dtype_never_escapes(copy_of) -> None:
    path = copy_of()
    cfg = (path / "config.json").read_text().replace('"weights_dtype": "float32"',
                                                     '"weights_dtype": 1' + "9" * 350 + ".5")
    (path / "config.json").write_text(cfg)
    refused(path, "weights_dtype")


def test_special_files_as_config_are_refused_without_blocking(copy_of) -> None:
    path = copy_of()
    (path / "config.json").unlink()
    os.mkfifo(path / "config.json")
    _finishes_quickly(lambda: refused(path, "regular file"))
    (path / "config.json").unlink()
    (path / "config.json").symlink_to("/dev/zero")
    _finishes_quickly(lambda: refused(path, "regular file"))


def _finishes_quickly(fn, timeout: float = 5.0) -> None:
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it blocks."""
    errors: list[BaseException] = []

    def target():
        try:
            fn()
        except BaseException as exc:  # re-raised below in the test's thread
            errors.append(exc)
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the loader blocked"
    if errors:
        raise errors[0]


def test_odd_paths_raise_bundle_error(tmp_path: Path) -> None:
    for path in (tmp_path / ("x" * 300), "a\x00b", tmp_path / "nowhere"):
        with pytest.raises(BundleError):
            load_bundle(path)


# ============================================================================ weights
def _rewrite_weights(path: Path, change) -> None:
    from safetensors.torch import load_file, save_file
    state = load_file(str(path / "vqvae.safetensors"))
    change(state)
    save_file(state, str(path / "vqvae.safetensors"))


@pytest.mark.parametrize("dtype", [torch.bool, torch.int32, torch.int64, torch.complex64, torch.float8_e4m3fn,
                                   torch.uint8])
def test_weights_of_the_wrong_dtype_are_refused_naming_tensor_and_file(copy_of, dtype) -> None:
    path = copy_of()
    key = "decoder.net.0.weight"
    _rewrite_weights(path, lambda s: s.update({key: torch.zeros_like(s[key]).to(dtype)}))
    error = refused(path, key, "vqvae.safetensors")
    assert "config.json" not in str(error)


def test_float64_weights_load_but_overflowing_ones_are_refused(copy_of) -> None:
    path = copy_of()
    key = "decoder.net.0.weight"
    _rewrite_weights(path, lambda s: s.update({key: s[key].double()}))
    load_bundle(path)
    _rewrite_weights(path, lambda s: s.update({key: torch.full_like(s[key], 1e300)}))
    refused(path, "NaN or infinite", key)


def test_pt_weights_with_integer_keys_name_the_weights_file(copy_of) -> None:
    path = copy_of()
    state = load_bundle(path).vqvae.state_dict()
    state[5] = torch.zeros(1)
    torch.save(state, path / "vqvae.pt")
    _edit_config(path, lambda c: c["vqvae"].update(weights="vqvae.pt"))
    error = refused(path, "vqvae.pt")
    assert "config.json" not in str(error).split("vqvae.pt")[0] or "not text" in str(error)


def test_a_weights_file_far_larger_than_the_model_is_refused_before_reading(copy_of) -> None:
    path = copy_of()
    with open(path / "vqvae.safetensors", "ab") as f:
        f.truncate(200 << 20)                        # sparse: costs no disk space
    refused(path, "far more")


def _safetensors_bytes(header: dict | bytes, data: bytes = b"", length: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _valid_header(path: Path) -> tuple[dict, bytes]:
    blob = (path / "vqvae.safetensors").read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=True),
                       st.text(max_size=20))
_json = st.recursive(_json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                     max_leaves=12)


@FUZZ
@given(data=st.data())
def test_fuzz_safetensors_header(good: Path, tmp_path_factory, data) -> None:
    path = tmp_path_factory.mktemp("st") / "b"
    shutil.copytree(good, path)
    header, payload = _valid_header(path)
    how = data.draw(st.sampled_from(["mutate entry", "random header", "bad length", "truncate"]))
    if how == "mutate entry":
        key = data.draw(st.sampled_from(sorted(header)))
        field = data.draw(st.sampled_from(["dtype", "shape", "data_offsets", None]))
        value = data.draw(st.one_of(_json, st.sampled_from(["F8_E4M3", "BOOL", "C64", "I64", "F64", "U8"]),
                                    st.lists(st.integers(0, 2 ** 40), max_size=5)))
        if field is None or not isinstance(header[key], dict):
            header[key] = value
        else:
            header[key][field] = value
        blob = _safetensors_bytes(header, payload)
    elif how == "random header":
        blob = _safetensors_bytes(data.draw(st.binary(max_size=200)) if data.draw(st.booleans())
                                  else json.dumps(data.draw(_json)).encode(), payload)
    elif how == "bad length":
        raw = json.dumps(header).encode()
        blob = _safetensors_bytes(raw, payload, length=data.draw(st.integers(0, 2 ** 64 - 1)))
    else:
        full = _safetensors_bytes(header, payload)
        blob = full[:data.draw(st.integers(0, len(full)))]
    (path / "vqvae.safetensors").write_bytes(blob)
    _load_only_bundle_errors(path)


def _load_only_bundle_errors(path: Path) -> None:
    rss = _rss_bytes()
    start = time.perf_counter()
    try:
        load_bundle(path)
    except BundleError as exc:
        assert_plain(exc)
    assert time.perf_counter() - start < 2.0
    assert _rss_bytes() - rss < GB


# ============================================================================ config fuzz
def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))


@FUZZ
@given(data=st.data())
def test_fuzz_bundle_config(good: Path, tmp_path_factory, data) -> None:
    path = tmp_path_factory.mktemp("cfg") / "b"
    shutil.copytree(good, path)
    cfg = json.loads((path / "config.json").read_text())
    how = data.draw(st.sampled_from(["replace", "replace", "delete", "random", "bytes"]))
    if how in ("replace", "delete"):
        where = data.draw(st.sampled_from([p for p in _paths(cfg) if p]))
        parent = cfg
        for key in where[:-1]:
            parent = parent[key]
        if how == "delete":
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(st.one_of(_json, st.integers(-2 ** 80, 2 ** 80),
                                                    st.sampled_from([65536, -1, 0, 2 ** 31, 1e308, "", "x" * 300])))
        text = json.dumps(cfg).encode()
    elif how == "random":
        text = json.dumps(data.draw(_json)).encode()
    else:
        text = data.draw(st.binary(max_size=300))
    (path / "config.json").write_bytes(text)
    _load_only_bundle_errors(path)


# ============================================================================ examples.npz
def _npy(header: str | dict, data: bytes = b"", version: tuple = (1, 0)) -> bytes:
    text = header if isinstance(header, str) else repr(header)
    text = text + " " * ((64 - (len(text) + 11) % 64) % 64) + "\n"
    size = struct.pack("<H", len(text)) if version == (1, 0) else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes(version) + size + text.encode("latin1", "replace") + data


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return out.getvalue()


def test_examples_zip_bomb_is_refused_from_its_header_without_decompressing(copy_of) -> None:
    path = copy_of()
    n = 200_000                                     # 157 MB of zeros, about 150 KB compressed
    header = {"descr": "|u1", "fortran_order": False, "shape": (n, 1, 28, 28)}
    member = io.BytesIO()
    with zipfile.ZipFile(member, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("images.npy", "w", force_zip64=True) as f:
            f.write(_npy(header))
            zeros = bytes(1 << 20)
            for _ in range(n * 784 // len(zeros)):
                f.write(zeros)
        zf.writestr("labels.npy", _npy({"descr": "<i8", "fortran_order": False, "shape": (n,)}, bytes(8 * n)))
    (path / "examples.npz").write_bytes(member.getvalue())
    assert (path / "examples.npz").stat().st_size < 2 << 20
    start = time.perf_counter()
    _, peak = traced_peak(refused, path, "examples")
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0 and peak < 64 << 20


def test_examples_zip_with_many_entries_is_refused_before_parsing_its_directory(copy_of) -> None:
    path = copy_of()
    (path / "examples.npz").write_bytes(_zip({f"m{i}.npy": b"" for i in range(20_000)}, zipfile.ZIP_STORED))
    start = time.perf_counter()
    refused(path, "20000 entries")
    assert time.perf_counter() - start < 0.5


def test_pt_weights_declaring_more_data_than_the_model_are_refused(copy_of) -> None:
    path = copy_of()
    state = load_bundle(path).vqvae.state_dict()
    key = "decoder.net.0.weight"
    state[key] = torch.zeros(20_000_000)[: state[key].numel()].view_as(state[key])   # a view of an 80 MB storage
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with zipfile.ZipFile(buffer) as plain, zipfile.ZipFile(path / "vqvae.pt", "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in plain.infolist():                  # deflated: the file is small, its records are not
            bomb.writestr(info.filename, plain.read(info.filename))
    assert (path / "vqvae.pt").stat().st_size < 2 << 20
    _edit_config(path, lambda c: c["vqvae"].update(weights="vqvae.pt"))
    refused(path, "vqvae.pt", "unpack")


@pytest.mark.parametrize("members, needle", [
    ({"images.npy": _npy({"descr": "|u1", "fortran_order": False, "shape": (10 ** 12, 1, 28, 28)})}, "images"),
    ({"images.npy": _npy({"descr": "|O", "fortran_order": False, "shape": (1, 1, 28, 28)})}, "objects"),
    ({"images.npy": _npy({"descr": "<f4", "fortran_order": False, "shape": (1, 1, 28, 28)}, bytes(3136))}, "uint8"),
    ({"images.npy": _npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 28, ")}, "valid .npy"),
    ({"images.npy": _npy({"descr": "|u1", "fortran_order": False, "shape": (1, 1, 28, 28)}, bytes(10))},
     "truncated"),
    ({"images.npy": _npy({"descr": "|u1", "fortran_order": False, "shape": (1, 1, 28, 28)}, bytes(784)),
      "labels.npy": _npy({"descr": "<c8", "fortran_order": False, "shape": (1,)}, bytes(8))}, "labels"),
    ({"images.npy": _npy({"descr": "|u1", "fortran_order": False, "shape": (1, 1, 28, 28)}, bytes(784)),
      "labels.npy": _npy({"descr": "<i8", "fortran_order": False, "shape": (1,)}, struct.pack("<q", 99))},
     "labels outside"),
    ({"other.npy": b""}, "images"),
])
def test_hostile_examples_are_refused(copy_of, members, needle) -> None:
    path = copy_of()
    (path / "examples.npz").write_bytes(_zip(members))
    refused(path, needle)


@FUZZ
@given(data=st.data())
def test_fuzz_examples_npz(good: Path, tmp_path_factory, data) -> None:
    path = tmp_path_factory.mktemp("ex") / "b"
    shutil.copytree(good, path)
    how = data.draw(st.sampled_from(["flip bytes", "truncate", "headers"]))
    blob = (path / "examples.npz").read_bytes()
    if how == "flip bytes":
        blob = bytearray(blob)
        for _ in range(data.draw(st.integers(1, 8))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
        blob = bytes(blob)
    elif how == "truncate":
        blob = blob[:data.draw(st.integers(0, len(blob)))]
    else:
        dims = st.lists(st.integers(0, 2 ** 62), min_size=0, max_size=5).map(tuple)
        descr = st.sampled_from(["|u1", "<i8", "<f4", "|b1", "<c16", "|O", ">i2", "<u8", "V8", "<U3"])
        members = {}
        for key in ("images", "labels"):
            header = {"descr": data.draw(descr), "fortran_order": data.draw(st.booleans()), "shape": data.draw(dims)}
            members[f"{key}.npy"] = _npy(header, data.draw(st.binary(max_size=2000)),
                                         data.draw(st.sampled_from([(1, 0), (2, 0), (9, 9)])))
        blob = _zip(members, data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                                         zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])))
    (path / "examples.npz").write_bytes(blob)
    _load_only_bundle_errors(path)


def test_save_refuses_what_load_would_refuse(tmp_path: Path) -> None:
    """Bundle.save runs the loader's checks first: it never writes a bundle load_bundle refuses."""
    cases = {
        "data": lambda b: setattr(b, "data", {"root": 5, "limit": "x"}),
        "weights_dtype": lambda b: setattr(b, "weights_dtype", []),
        "labels": lambda b: setattr(b.examples, "labels", torch.tensor([3, 1, 4, 1, 50])),
        "mse": lambda b: setattr(b, "metrics", {"mse": "low"}),
        f"{MAX_EXAMPLES} uint8": lambda b: setattr(b.examples, "images", b.examples.images.float()),
        "nest": lambda b: setattr(b, "history", {"resumed_from": json.loads('{"h": ' * 150 + "1" + "}" * 150)}),
    }
    for needle, spoil in cases.items():
        bundle = make_bundle()
        bundle.metrics = {"mse": np.float32(0.01), "codes_used_count": np.int64(9)}   # numpy numbers are fine
        spoil(bundle)
        with pytest.raises(BundleError, match=needle):
            bundle.save(tmp_path / "b")
        assert not (tmp_path / "b").exists() and leftovers(tmp_path) == []


# ============================================================================ grid files
def _grid_refused(path: Path, *needles: str) -> GridFileError:
    with pytest.raises(GridFileError) as info:
        load_grid(path, 16, (7, 7))
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    return info.value


def test_npy_header_claiming_a_huge_shape_is_refused_before_allocating(tmp_path: Path) -> None:
    file = tmp_path / "g.npy"
    file.write_bytes(_npy({"descr": "<i8", "fortran_order": False, "shape": (10 ** 6, 10 ** 6)}))
    _, peak = traced_peak(_grid_refused, file, "larger")
    assert peak < 16 << 20


def test_malformed_npy_header_is_a_grid_file_error(tmp_path: Path) -> None:
    file = tmp_path / "g.npy"
    file.write_bytes(_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (7, 7"))       # TokenError inside numpy
    _grid_refused(file, "g.npy")


@pytest.mark.parametrize("kind", ["fifo", "dev zero", "folder"])
def test_special_files_are_refused_without_blocking(tmp_path: Path, kind: str) -> None:
    file = tmp_path / "grid.json"
    if kind == "fifo":
        os.mkfifo(file)
    elif kind == "dev zero":
        file.symlink_to("/dev/zero")
    else:
        file.mkdir()
    _finishes_quickly(lambda: _grid_refused(file, "regular file"))


def _seven_by_seven(value: str) -> str:
    """A 7x7 JSON grid whose first cell is ``value`` (the others 0): passes the shape check."""
    rows = [[value] + ["0"] * 6] + [["0"] * 7] * 6
    return "[" + ",".join("[" + ",".join(row) + "]" for row in rows) + "]"


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000, "[[" + "9" * 5000 + "]]", _seven_by_seven("1e400"),
    '{"codes": ' + _seven_by_seven("true") + "}", '{"codes": "abc"}', "[[1, 2], [3]]", "\xff\xfe",
    _seven_by_seven(str(2 ** 64)), _seven_by_seven('"3"'), _seven_by_seven("null"),
])
def test_hostile_json_grids_are_grid_file_errors(tmp_path: Path, text: str) -> None:
    file = tmp_path / "g.json"
    file.write_bytes(text.encode("utf-8", "surrogateescape"))
    _grid_refused(file, "g.json")


def test_a_grid_of_the_wrong_shape_is_refused_before_its_values_are_read(tmp_path: Path) -> None:
    file = tmp_path / "g.json"
    file.write_text("[" + ",".join(["[" + ",".join(["1"] * 1000) + "]"] * 1000) + "]")
    start = time.perf_counter()
    _grid_refused(file, "1000x1000", "7x7")
    assert time.perf_counter() - start < 2.0


def test_oversized_grid_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "g.json"
    with open(file, "wb") as f:
        f.truncate(1 << 30)
    _grid_refused(file, "bytes")


def test_good_grids_still_round_trip(tmp_path: Path) -> None:
    codes = np.arange(49).reshape(7, 7) % 16
    for name in ("g.npy", "g.json"):
        save_grid(tmp_path / name, codes, 16)
        np.testing.assert_array_equal(load_grid(tmp_path / name, 16, (7, 7)), codes)
    np.save(tmp_path / "f.npy", np.asfortranarray(codes.astype(np.uint8)))
    np.testing.assert_array_equal(load_grid(tmp_path / "f.npy", 16, (7, 7)), codes)
    np.save(tmp_path / "b.npy", codes.astype(">i4"))
    np.testing.assert_array_equal(load_grid(tmp_path / "b.npy", 16, (7, 7)), codes)


def _load_only_grid_errors(file: Path) -> None:
    rss = _rss_bytes()
    start = time.perf_counter()
    try:
        arr = load_grid(file, 16, (7, 7))
        assert arr.shape == (7, 7) and arr.dtype == np.int64 and arr.min() >= 0 and arr.max() < 16
    except GridFileError:
        pass
    assert time.perf_counter() - start < 2.0
    assert _rss_bytes() - rss < GB


@FUZZ
@given(data=st.data())
def test_fuzz_npy_grids(tmp_path_factory, data) -> None:
    file = tmp_path_factory.mktemp("npy") / "g.npy"
    how = data.draw(st.sampled_from(["header", "bytes", "mutate"]))
    if how == "header":
        header = data.draw(st.one_of(
            st.fixed_dictionaries({"descr": st.sampled_from(["<i8", "|u1", "<f8", "|O", "<i4", ">u8", "|b1", "V4"]),
                                   "fortran_order": st.booleans(),
                                   "shape": st.lists(st.integers(0, 2 ** 62), max_size=4).map(tuple)}),
            st.text(max_size=80)))
        blob = _npy(header, data.draw(st.binary(max_size=600)), data.draw(st.sampled_from([(1, 0), (2, 0), (3, 0)])))
    elif how == "bytes":
        blob = data.draw(st.binary(max_size=400))
    else:
        buf = io.BytesIO()
        np.save(buf, np.zeros((7, 7), dtype=np.int64))
        blob = bytearray(buf.getvalue())
        for _ in range(data.draw(st.integers(1, 6))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
        blob = bytes(blob)
    file.write_bytes(blob)
    _load_only_grid_errors(file)


@FUZZ
@given(value=st.one_of(_json, st.lists(st.lists(st.integers(-2 ** 70, 2 ** 70), max_size=9), max_size=9),
                       st.fixed_dictionaries({"codes": _json})), raw=st.binary(max_size=200), use_raw=st.booleans())
def test_fuzz_json_grids(tmp_path_factory, value, raw: bytes, use_raw: bool) -> None:
    file = tmp_path_factory.mktemp("json") / "g.json"
    file.write_bytes(raw if use_raw else json.dumps(value).encode())
    _load_only_grid_errors(file)
