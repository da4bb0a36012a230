""".dlc format version 2 (compressed names, no names, labels, the floor that bounds the count, chunk
CRCs), version 1 still read, and the hostile-input fixes of issue 22 (items 3, 5, 6, 9, 14, 17, 18)."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from explorer.cli import compress as cli_compress
from explorer.core import compression as C
from explorer.core.bundle import Bundle, load_bundle
from explorer.core.compression.names import pack_side, side_limit, unpack_side
from explorer.core.models.vqvae import VQVAE, VQVAEConfig
from test_compression import (SHIPPED, TINY_VQVAE, assert_one_line_error, cli, frame, random_codes, random_images,
                              raw_parts, tiny_bundle, tiny_prior)

V1_DIR = Path(__file__).resolve().parent / "data" / "dlc_v1"
FUZZ = settings(max_examples=100, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return tiny_bundle(0)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bundles")
    tiny_bundle(0).save(root / "a")
    torch.manual_seed(5)
    Bundle(vqvae=VQVAE(VQVAEConfig(**TINY_VQVAE)).eval(), prior=tiny_prior(5, num_classes=10),
           name="conditional").save(root / "cond")
    return root


def write_pngs(folder: Path, names: list[str]) -> np.ndarray:
    folder.mkdir(parents=True, exist_ok=True)
    images = random_images(len(names), 11)
    for name, image in zip(names, images):
        Image.fromarray(image[0]).save(folder / name)
    return images


def timed_read(path: Path, bundle: Bundle, limit_s: float = 2.0):
    start = time.monotonic()
    try:
        return C.read_dlc(path, bundle, with_labels=True)
    finally:
        assert time.monotonic() - start < limit_s, "reading took too long"


# ----------------------------------------------------------------------------- versions 1 and 2
def version_1_file_coded_here(path: Path) -> Path:
    """The committed version-1 file with its payload coded again on this machine, as version 1 codes
    (no floor): its framing, header and names are the old writer's bytes. The payload must be re-coded
    because decoding needs the conditionals bit for bit, which CPUs taking other kernel paths (AVX-512
    against AVX2) do not give (docs/compression.md, Determinism); the file's CRCs catch that case."""
    data = (V1_DIR / "seven.dlc").read_bytes()
    _, version, hlen = struct.unpack_from("<8sHI", data)
    header = json.loads(data[14:14 + hlen])
    codes = torch.from_numpy(np.load(V1_DIR / "seven_codes.npy")).long()
    payload = C.encode_grids(load_bundle(V1_DIR / "bundle").prior, codes, None, header["batch"], p_max=None)
    header["payload_words"] = len(payload) // 4
    text = json.dumps(header).encode()
    body = data[:8] + struct.pack("<HI", version, len(text)) + text + payload
    path.write_bytes(body + struct.pack("<I", zlib.crc32(body)))
    return path


def test_a_version_1_file_written_by_the_old_writer_still_decodes(capsys, tmp_path: Path) -> None:
    old = load_bundle(V1_DIR / "bundle")
    header, _ = C.parse_dlc((V1_DIR / "seven.dlc").read_bytes())          # the old writer's bytes, as they are
    assert header["version"] == 1 and header["chunk_crc32"] is None
    assert header["names"][:2] == ["0000_0.png", "0001_1.png"] and header["names"][-1] == "photo one.jpg"
    path = version_1_file_coded_here(tmp_path / "seven.dlc")
    names, codes = C.read_dlc(path, old)
    assert names == header["names"]
    assert torch.equal(codes, torch.from_numpy(np.load(V1_DIR / "seven_codes.npy")).long())
    code, _, err = cli(capsys, "decompress", str(path), "--bundle", str(V1_DIR / "bundle"), "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "out"))[-1] == "photo one.png" and len(os.listdir(tmp_path / "out")) == 7


def test_a_version_2_file_decodes_with_the_evaluator_it_was_coded_with(tmp_path: Path, monkeypatch) -> None:
    """Version 2 streams were coded with revision 1 of the cached evaluator, version 3 with revision 2
    (the transformer's two agree only to rounding): the reader picks the file's revision."""
    from explorer.core.models.prior import PriorConfig, build_prior
    from explorer.core.models.transformer_prior import TransformerPrior
    torch.manual_seed(3)
    prior = build_prior(PriorConfig(kind="transformer", num_codes=16, height=7, width=7, channels=16, layers=2,
                                    heads=2, mlp_ratio=2)).eval()
    transformer = Bundle(vqvae=tiny_bundle(0).vqvae, prior=prior, name="t")
    codes, names = random_codes(9, 4), [f"{i:04d}_{i % 10}.png" for i in range(9)]
    new = C.dlc_bytes(transformer, codes, names, batch=4)
    version, header, rest = raw_parts(new)
    assert version == C.FORMAT_VERSION == 3
    side = rest[:header["side"][1]]
    payload = C.encode_grids(prior, codes, None, 4, revision=1)                    # what version 2 wrote
    header["payload_words"] = len(payload) // 4
    (tmp_path / "old.dlc").write_bytes(frame(header, side + payload, version=2))
    (tmp_path / "new.dlc").write_bytes(new)
    asked = []
    real = TransformerPrior.incremental
    monkeypatch.setattr(TransformerPrior, "incremental",
                        lambda self, grid, labels, revision=2: asked.append(revision) or real(self, grid, labels, revision))
    for name, revision in (("old.dlc", 1), ("new.dlc", 2)):
        asked.clear()
        read_names, decoded = C.read_dlc(tmp_path / name, transformer)
        assert read_names == names and torch.equal(decoded, codes)
        assert asked and set(asked) == {revision}


def test_version_2_round_trips_with_names_without_names_and_with_labels(bundle: Bundle, tmp_path: Path) -> None:
    codes = random_codes(9, 3)
    names = [f"{i:04d}_{i % 10}.png" for i in range(9)]
    for given_names in (names, None):
        C.write_dlc(tmp_path / "a.dlc", bundle, codes, given_names, batch=4)
        read_names, decoded, labels = C.read_dlc(tmp_path / "a.dlc", bundle, with_labels=True)
        assert read_names == given_names and labels is None and torch.equal(decoded, codes)
    assert C.output_names(None, 3) == ["000000.png", "000001.png", "000002.png"]
    conditional = Bundle(vqvae=bundle.vqvae, prior=tiny_prior(2, num_classes=10), name="c")
    labels = [7, 1, 0, 9, 9, 3, 2, 2, 5]
    C.write_dlc(tmp_path / "c.dlc", conditional, codes, None, labels)
    read_names, decoded, read_labels = C.read_dlc(tmp_path / "c.dlc", conditional, with_labels=True)
    assert read_names is None and read_labels == labels and torch.equal(decoded, codes)
    with pytest.raises(ValueError, match="class-conditional"):
        C.dlc_bytes(conditional, codes, names)                       # labels are needed...
    with pytest.raises(ValueError, match="unconditional"):
        C.dlc_bytes(bundle, codes, names, labels)                    # ...and only then


def test_sequential_names_cost_a_few_bytes_each() -> None:
    rng = np.random.default_rng(0)
    names = [f"{i:04d}_{rng.integers(10)}.png" for i in range(200)]
    codec, side = pack_side(names, None)
    assert codec in ("zlib", "lzma") and len(side) <= 3 * 200
    assert unpack_side(codec, side, side_limit(200), ValueError) == {"names": names}


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="shipped bundle missing")
def test_small_file_goal_on_200_held_out_digits(mnist_root) -> None:
    """Whole file <= 1.01 x ideal -log2 p(z) + 3 bytes per image + 256 bytes (issue 19)."""
    from explorer.core.data import DataConfig, load_data
    shipped = load_bundle(SHIPPED)
    held = load_data(DataConfig(name="mnist", root=str(mnist_root), holdout_last=1000)).val
    codes = C.images_to_codes(shipped.vqvae, held.images[:200].numpy())
    names = [f"{i:04d}_{int(label)}.png" for i, label in enumerate(held.labels[:200])]
    data = C.dlc_bytes(shipped, codes, names)
    ideal_bytes = float(C.ideal_bits(shipped.prior, codes).sum()) / 8
    assert len(data) <= 1.01 * ideal_bytes + 3 * 200 + 256, (len(data), ideal_bytes)
    header, payload = C.parse_dlc(data)
    assert header["names"] == names and len(payload) <= 1.01 * ideal_bytes + 8


# ----------------------------------------------------------------------------- bounds (issue 22, item 9)
def test_the_writer_never_writes_a_count_the_reader_refuses() -> None:
    """A prior that is all but certain of every code: the floor still makes each image cost bits."""
    prior = tiny_prior(1)
    with torch.no_grad():
        prior.head2.bias[0] = 1e4
    sure = Bundle(vqvae=VQVAE(VQVAEConfig(**TINY_VQVAE)).eval(), prior=prior, name="sure")
    codes = torch.zeros(600, 7, 7, dtype=torch.long)
    header, payload = C.parse_dlc(C.dlc_bytes(sure, codes, None, batch=256))
    assert header["count"] == 600 <= C.max_images_for(header["payload_words"], (7, 7))
    info = C.encode_with_stats(prior, codes)[1]
    assert info.min() >= 49 * C.MIN_BITS_PER_CODE                  # the floor holds for every image
    bits_without_floor = C.encode_with_stats(prior, codes, p_max=None)[1]
    assert bits_without_floor.max() < 1e-3                           # without it an image costs ~nothing


@pytest.mark.parametrize("version", [1, 2])
def test_a_decode_bomb_is_refused_before_decoding(tmp_path: Path, bundle: Bundle, valid_v2: bytes,
                                                  version: int) -> None:
    """4 096 images in batches of 4 096 from an empty stream (issue 22, item 9): refused at once."""
    _, header, _ = raw_parts(valid_v2)
    count = 4096
    if version == 1:
        hostile = {k: header[k] for k in ("format", "bundle", "grid", "num_codes", "codes_crc32")}
        hostile.update(count=count, batch=256, payload_words=0, labels=None,
                       names=[f"{i}.png" for i in range(count)])
        data = frame(hostile, b"", version=1)
    else:
        hostile = {**header, "count": count, "batch": 256, "payload_words": 0, "names": False,
                   "side": ["none", 0], "chunk_crc32": [0] * 16}
        data = frame(hostile, b"")
    (tmp_path / "bomb.dlc").write_bytes(data)
    with pytest.raises(C.CompressedFileError, match="more than its"):
        timed_read(tmp_path / "bomb.dlc", bundle, 1.0)
    big_batch = {**hostile, "count": 3, "batch": 4096}
    if version == 2:
        big_batch["chunk_crc32"] = [0]
    else:
        big_batch["names"] = ["a.png", "b.png", "c.png"]
    (tmp_path / "batch.dlc").write_bytes(frame(big_batch, b"", version=version))
    with pytest.raises(C.CompressedFileError, match="batch"):
        timed_read(tmp_path / "batch.dlc", bundle, 1.0)


@pytest.fixture(scope="module")
def valid_v2(bundle: Bundle) -> bytes:
    return C.dlc_bytes(bundle, random_codes(6, 1), [f"img{i}.png" for i in range(6)], batch=2)


def test_a_corrupt_stream_fails_at_its_first_chunk(tmp_path: Path, bundle: Bundle, valid_v2: bytes) -> None:
    _, header, rest = raw_parts(valid_v2)
    side = header["side"][1]
    flipped = rest[:side] + bytes([rest[side] ^ 0x40]) + rest[side + 1:]
    (tmp_path / "bad.dlc").write_bytes(frame(header, flipped))
    seen: list[int] = []
    with pytest.raises(C.CompressedFileError, match="checksum"):
        C.read_dlc(tmp_path / "bad.dlc", bundle, progress=lambda done, total: seen.append(done))
    assert seen == []                              # the first chunk failed; the other two were never decoded


def test_a_name_list_bomb_is_refused_without_inflating_it(tmp_path: Path, bundle: Bundle, valid_v2: bytes) -> None:
    _, header, rest = raw_parts(valid_v2)
    payload = rest[header["side"][1]:]
    bomb = zlib.compress(b'{"names":["' + b"a" * (50 << 20) + b'"]}', 9)       # 50 MB in ~50 KB
    (tmp_path / "bomb.dlc").write_bytes(frame({**header, "side": ["zlib", len(bomb)]}, bomb + payload))
    with pytest.raises(C.CompressedFileError, match="larger than"):
        timed_read(tmp_path / "bomb.dlc", bundle, 1.0)


# ----------------------------------------------------------------------------- fuzzing the version-2 header
HOSTILE = st.sampled_from([10**9, 2**31, 2**63, -1, 0, 1, 7, 4096, 10**6, True, None, "x", "lzma", [], {}])
VALUES = HOSTILE | st.lists(HOSTILE, max_size=3) | st.text(max_size=8)


@FUZZ
@given(field=st.sampled_from(["grid", "num_codes", "count", "batch", "names", "labels", "side", "payload_words",
                              "codes_crc32", "chunk_crc32", "bundle", "format"]), value=VALUES)
def test_hostile_version_2_header_fields_give_only_the_clear_error(field, value, tmp_path: Path, bundle: Bundle,
                                                                  valid_v2: bytes) -> None:
    _, header, rest = raw_parts(valid_v2)
    (tmp_path / "f.dlc").write_bytes(frame({**header, field: value}, rest))
    try:
        names, codes, _ = timed_read(tmp_path / "f.dlc", bundle)
    except C.CompressedFileError:
        return
    assert names is None or len(names) == codes.shape[0]


@pytest.mark.parametrize("version", [1, 2])
def test_missing_header_fields_give_only_the_clear_error(tmp_path: Path, bundle: Bundle, valid_v2: bytes,
                                                         version: int) -> None:
    _, header, rest = raw_parts(valid_v2)
    if version == 1:
        header = {**{k: header[k] for k in ("format", "bundle", "grid", "num_codes", "count", "batch",
                                            "codes_crc32")}, "names": [f"img{i}.png" for i in range(6)], "labels": None}
        rest = C.encode_grids(bundle.prior, random_codes(6, 1), batch=2, p_max=None)
        header["payload_words"] = len(rest) // 4
    for field in header:
        (tmp_path / "f.dlc").write_bytes(frame({k: v for k, v in header.items() if k != field}, rest, version))
        try:
            timed_read(tmp_path / "f.dlc", bundle)
        except C.CompressedFileError:
            continue
        assert field == "labels" and version == 1          # a version-1 file without labels is unconditional


@FUZZ
@given(codec=st.sampled_from(["none", "zlib", "lzma"]), block=st.binary(max_size=300),
       declared=st.sampled_from(["names", "labels", "both"]))
def test_hostile_name_blocks_give_only_the_clear_error(codec, block, declared, tmp_path: Path, bundle: Bundle,
                                                       valid_v2: bytes) -> None:
    _, header, rest = raw_parts(valid_v2)
    payload = rest[header["side"][1]:]
    hostile = {**header, "side": [codec, len(block)], "names": declared != "labels", "labels": declared != "names"}
    (tmp_path / "f.dlc").write_bytes(frame(hostile, block + payload))
    with pytest.raises(C.CompressedFileError):
        timed_read(tmp_path / "f.dlc", bundle)


# ----------------------------------------------------------------------------- names (items 6 and 17)
def test_what_compress_accepts_decompress_can_write(capsys, tmp_path: Path, saved: Path) -> None:
    """A 253-byte name without extension would decompress to 257 bytes: refused when compressing."""
    assert C.name_problem("x" * 253) is not None and C.name_problem("x" * 251) is None
    assert C.name_problem("x" * 251 + ".jpeg") is None                     # becomes x*251 + .png: 255 bytes
    (tmp_path / "in").mkdir()
    Image.fromarray(random_images(1)[0, 0]).save(tmp_path / "in" / ("x" * 251 + ".png"))
    code, _, err = cli(capsys, "compress", str(tmp_path / "in"), "--bundle", str(saved / "a"),
                       "-o", str(tmp_path / "s.dlc"))
    assert code == 0, err
    code, _, err = cli(capsys, "decompress", str(tmp_path / "s.dlc"), "--bundle", str(saved / "a"),
                       "-o", str(tmp_path / "out"))
    assert code == 0, err and os.listdir(tmp_path / "out") == ["x" * 251 + ".png"]
    with pytest.raises(ValueError, match="too long"):
        C.dlc_bytes(load_bundle(saved / "a"), random_codes(1), ["y" * 253])


def test_file_provided_text_is_escaped_and_shortened(tmp_path: Path, bundle: Bundle, valid_v2: bytes) -> None:
    evil = "\x1b]0;owned\x07\x1b[2J\u202e" + "z" * (5 << 20)
    assert "\x1b" not in C.shown(evil) and "\u202e" not in C.shown(evil) and len(C.shown(evil)) <= 60
    _, header, rest = raw_parts(valid_v2)
    (tmp_path / "f.dlc").write_bytes(frame({**header, "bundle": evil}, rest))
    with pytest.raises(C.CompressedFileError) as info:
        C.read_dlc(tmp_path / "f.dlc", bundle)
    message = str(info.value)
    assert len(message) < 200 and "\x1b" not in message and "\\x1b" in message


# ----------------------------------------------------------------------------- command line
def test_cli_no_names_writes_numbered_pngs(capsys, tmp_path: Path, saved: Path) -> None:
    write_pngs(tmp_path / "in", ["b.png", "a.png", "c.png"])
    code, _, err = cli(capsys, "compress", str(tmp_path / "in"), "--no-names", "--bundle", str(saved / "a"),
                       "-o", str(tmp_path / "s.dlc"))
    assert code == 0, err
    assert C.read_dlc_header(tmp_path / "s.dlc")["names"] is None
    code, _, err = cli(capsys, "decompress", str(tmp_path / "s.dlc"), "--bundle", str(saved / "a"),
                       "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "out")) == ["000000.png", "000001.png", "000002.png"]


def test_cli_class_conditional_bundle(capsys, tmp_path: Path, saved: Path) -> None:
    write_pngs(tmp_path / "in", ["0000_7.png", "0001_2.png"])
    code, _, err = cli(capsys, "compress", str(tmp_path / "in"), "--bundle", str(saved / "cond"),
                       "-o", str(tmp_path / "s.dlc"))
    assert_one_line_error(code, err, "class-conditional", "--labels-from-names")
    code, _, err = cli(capsys, "compress", str(tmp_path / "in"), "--labels-from-names", "--bundle",
                       str(saved / "cond"), "-o", str(tmp_path / "s.dlc"))
    assert code == 0, err
    assert C.read_dlc_header(tmp_path / "s.dlc")["labels"] == [7, 2]
    code, _, err = cli(capsys, "decompress", str(tmp_path / "s.dlc"), "--bundle", str(saved / "cond"),
                       "-o", str(tmp_path / "out"))
    assert code == 0, err and sorted(os.listdir(tmp_path / "out")) == ["0000_7.png", "0001_2.png"]
    (tmp_path / "in" / "odd.png").write_bytes((tmp_path / "in" / "0000_7.png").read_bytes())
    code, _, err = cli(capsys, "compress", str(tmp_path / "in"), "--labels-from-names", "--bundle",
                       str(saved / "cond"), "-o", str(tmp_path / "t.dlc"))
    assert_one_line_error(code, err, "odd.png", "_<class>")


@pytest.mark.parametrize("where", ["input", "symlink", "hardlink", "inside"])
def test_cli_compress_never_overwrites_an_input(capsys, tmp_path: Path, saved: Path, where: str) -> None:
    """Item 3: -o naming an input, a link to one, or a file inside an input folder is refused."""
    write_pngs(tmp_path / "in", ["a.png", "b.png"])
    victim = tmp_path / "in" / "a.png"
    before = victim.read_bytes()
    if where == "input":
        argv, out = [str(victim), str(tmp_path / "in" / "b.png")], victim
    elif where == "symlink":
        (tmp_path / "link.dlc").symlink_to(victim)
        argv, out = [str(victim)], tmp_path / "link.dlc"
    elif where == "hardlink":
        os.link(victim, tmp_path / "hard.dlc")
        argv, out = [str(victim)], tmp_path / "hard.dlc"
    else:
        argv, out = [str(tmp_path / "in")], tmp_path / "in" / "set.dlc"
    code, _, err = cli(capsys, "compress", *argv, "--bundle", str(saved / "a"), "-o", str(out))
    assert_one_line_error(code, err, "somewhere else")
    assert victim.read_bytes() == before and not (tmp_path / "in" / "set.dlc").exists()


@pytest.fixture()
def small_file(capsys, tmp_path: Path, saved: Path) -> Path:
    write_pngs(tmp_path / "in", ["a.png", "b.png"])
    code, _, err = cli(capsys, "compress", str(tmp_path / "in"), "--bundle", str(saved / "a"),
                       "-o", str(tmp_path / "s.dlc"))
    assert code == 0, err
    return tmp_path / "s.dlc"


def test_cli_decompress_never_replaces_a_file_created_while_decoding(capsys, tmp_path: Path, saved: Path,
                                                                     small_file: Path, monkeypatch) -> None:
    """Item 5: the existence check is repeated at the moment of writing (a no-replace link)."""
    real = C.decode_dlc
    out = tmp_path / "out"

    def decode_then_someone_writes(*args, **kwargs):
        result = real(*args, **kwargs)
        out.mkdir(exist_ok=True)
        (out / "b.png").write_bytes(b"the user's file")
        return result

    monkeypatch.setattr(C, "decode_dlc", decode_then_someone_writes)
    code, _, err = cli(capsys, "decompress", str(small_file), "--bundle", str(saved / "a"), "-o", str(out))
    assert_one_line_error(code, err, "appeared while decoding")
    assert (out / "b.png").read_bytes() == b"the user's file"
    assert sorted(os.listdir(out)) == ["b.png"]                   # a.png undone, no staging folder left


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def staging(out: Path, name: str, pid: int | None, extra: str = "0.png") -> Path:
    folder = out / name
    folder.mkdir(parents=True)
    if pid is not None:
        (folder / cli_compress.OWNER_FILE).write_text(json.dumps(
            {"program": cli_compress.OWNER_PROGRAM, "pid": pid, "host": __import__("socket").gethostname()}))
    (folder / extra).write_bytes(b"png")
    return folder


def test_cli_decompress_cleans_up_only_its_own_dead_staging_folders(capsys, tmp_path: Path, saved: Path,
                                                                    small_file: Path) -> None:
    """Item 14: a kill leaves .decompress-* behind; the next run removes it, and nothing that is not ours."""
    out = tmp_path / "out"
    dead = staging(out, ".decompress-dead", dead_pid())
    alive = staging(out, ".decompress-alive", os.getpid())
    foreign = staging(out, ".decompress-nomarker", None)
    mixed = staging(out, ".decompress-mixed", dead_pid(), extra="notes.txt")
    code, _, err = cli(capsys, "decompress", str(small_file), "--bundle", str(saved / "a"), "-o", str(out))
    assert code == 0, err
    assert not dead.exists() and alive.exists() and foreign.exists() and mixed.exists()
    assert sorted(p for p in os.listdir(out) if not p.startswith(".")) == ["a.png", "b.png"]


def test_cli_decompress_checks_the_output_before_decoding(capsys, tmp_path: Path, saved: Path, small_file: Path,
                                                          monkeypatch) -> None:
    """Item 18: a dangling-symlink -o is refused before any decoding; a FIFO's name is not capitalised."""
    def never(*args, **kwargs):
        raise AssertionError("decoded before checking -o")

    monkeypatch.setattr(C, "decode_dlc", never)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    code, _, err = cli(capsys, "decompress", str(small_file), "--bundle", str(saved / "a"),
                       "-o", str(tmp_path / "dangling"))
    assert_one_line_error(code, err, "symbolic link")
    os.mkfifo(tmp_path / "in.dlc")
    code, _, err = cli(capsys, "decompress", str(tmp_path / "in.dlc"), "--bundle", str(saved / "a"),
                       "-o", str(tmp_path / "out"))
    assert_one_line_error(code, err, "in.dlc is not a regular file")
    assert "In.dlc is" not in err


def test_compression_report_takes_labels_for_a_class_conditional_bundle(bundle: Bundle) -> None:
    """The Likelihood panel's "Compress examples" on mnist-classes: labels in, a report out."""
    conditional = Bundle(vqvae=bundle.vqvae, prior=tiny_prior(2, num_classes=10), name="c")
    images, names = random_images(4, 2), [f"{i}.png" for i in range(4)]
    with pytest.raises(ValueError, match="class-conditional"):
        C.compression_report(conditional, images, names)
    report = C.compression_report(conditional, images, names, labels=[1, 2, 3, 4],
                                  extra_bundles={"other conditional": conditional, "plain": bundle})
    assert len(report["rows"]) == 4 and set(report["rd"]["points"]) == {"bundle", "plain"}


def test_placing_never_replaces_also_without_hard_links(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "s.png"
    source.write_bytes(b"new")
    (tmp_path / "taken.png").write_bytes(b"old")
    cli_compress._place_without_replacing(source, tmp_path / "linked.png")
    assert (tmp_path / "linked.png").read_bytes() == b"new"

    def no_links(*args, **kwargs):
        raise PermissionError("hard links are not supported here")

    monkeypatch.setattr(os, "link", no_links)
    cli_compress._place_without_replacing(source, tmp_path / "copied.png")
    assert (tmp_path / "copied.png").read_bytes() == b"new"
    with pytest.raises(FileExistsError):
        cli_compress._place_without_replacing(source, tmp_path / "taken.png")
    assert (tmp_path / "taken.png").read_bytes() == b"old"


def test_every_config_field_added_since_version_1_is_left_out_of_the_fingerprint_at_its_default() -> None:
    """A field added to VQVAEConfig or PriorConfig changes every bundle's fingerprint unless it is listed
    in LATER_CONFIG_FIELDS: then files compressed before it existed no longer decode (found when the
    quantizer lab added lookup_dim). The fields of version 1 are those of the committed v1 bundle."""
    import dataclasses
    import json

    from explorer.core.compression.dlc import LATER_CONFIG_FIELDS
    from explorer.core.models.prior import PriorConfig
    from explorer.core.models.vqvae import VQVAEConfig
    saved = json.loads((Path(__file__).parent / "data" / "dlc_v1" / "bundle" / "config.json").read_text())
    for part, config_class in (("vqvae", VQVAEConfig), ("prior", PriorConfig)):
        new = {f.name for f in dataclasses.fields(config_class)} - set(saved[part]["config"])
        assert new <= set(LATER_CONFIG_FIELDS), f"{part}: add {sorted(new - set(LATER_CONFIG_FIELDS))}"
