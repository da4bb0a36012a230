"""Compression of code grids with the prior (explorer.core.compression) and the compress CLI.

Tiny untrained models keep these fast; the shipped bundle is used only where realistic
conditionals matter (coded bits against the ideal -log2 p(z)).
"""
from __future__ import annotations

import json
import math
import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from explorer.__main__ import main
from explorer.core import compression as C
from explorer.core.bundle import Bundle, load_bundle
from explorer.core.compression.names import pack_side
from explorer.core.models.ensemble import PriorEnsemble
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.vqvae import VQVAE, VQVAEConfig
from prior_helpers import randomize_positional_biases

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "trained_models" / "mnist"
TINY_VQVAE = dict(hidden_channels=16, res_channels=8, num_codes=16, code_dim=4)
TINY_PRIOR = dict(num_codes=16, channels=16, layers=2, head_channels=16)


def tiny_prior(seed: int = 0, **overrides) -> torch.nn.Module:
    torch.manual_seed(seed)
    prior = build_prior(PriorConfig(**{**TINY_PRIOR, **overrides})).eval()
    randomize_positional_biases(prior, seed)
    with torch.no_grad():                    # sharper than the init, so codes differ in cost
        prior.head2.weight.mul_(8.0)
    return prior


def tiny_bundle(seed: int = 0) -> Bundle:
    torch.manual_seed(seed)
    return Bundle(vqvae=VQVAE(VQVAEConfig(**TINY_VQVAE)).eval(), prior=tiny_prior(seed), name=f"tiny{seed}")


def random_codes(n: int, seed: int = 0, k: int = 16) -> torch.Tensor:
    return torch.randint(0, k, (n, 7, 7), generator=torch.Generator().manual_seed(seed))


def random_images(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 1, 28, 28), dtype=np.uint8)


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return tiny_bundle(0)


@pytest.fixture(scope="module")
def valid_file(bundle: Bundle) -> bytes:
    return C.dlc_bytes(bundle, random_codes(5, 1), [f"img{i}.png" for i in range(5)], batch=2)


def with_threads(n: int, fn, *args, **kwargs):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        return fn(*args, **kwargs)
    finally:
        torch.set_num_threads(before)


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("kind", ["gated", "plain", "ensemble", "conditional"])
def test_round_trip_is_exact_under_one_and_two_threads(kind: str) -> None:
    if kind == "ensemble":
        prior = PriorEnsemble.of([tiny_prior(1), tiny_prior(2)]).eval()
    else:
        prior = tiny_prior(3, kind="plain" if kind == "plain" else "gated",
                           num_classes=3 if kind == "conditional" else 0)
    codes = random_codes(37, 5)                   # 37 = 2 chunks of 16 + 5: chunking with a remainder
    labels = torch.arange(37) % 3 if kind == "conditional" else None
    one = with_threads(1, C.encode_grids, prior, codes, labels, batch=16)
    two = with_threads(2, C.encode_grids, prior, codes, labels, batch=16)
    assert one == two, "the coded bytes depend on the torch thread count"
    for enc_threads, dec_threads, data in ((1, 2, one), (2, 1, two), (2, 2, two)):
        decoded = with_threads(dec_threads, C.decode_grids, prior, data, 37, (7, 7), labels, batch=16)
        assert decoded.dtype == torch.long and torch.equal(decoded, codes), (enc_threads, dec_threads)
    assert torch.get_num_threads() == 1           # the coder restores the caller's thread count


def test_decode_in_other_chunks_or_with_other_labels_does_not_reproduce() -> None:
    """The chunking is part of the format (it is stored in the file): the test shows it matters."""
    prior = tiny_prior(4, num_classes=3)
    codes, labels = random_codes(20, 2), torch.zeros(20, dtype=torch.long)
    data = C.encode_grids(prior, codes, labels, batch=8)
    assert torch.equal(C.decode_grids(prior, data, 20, (7, 7), labels, batch=8), codes)
    assert not torch.equal(C.decode_grids(prior, data, 20, (7, 7), labels + 1, batch=8), codes)


def test_file_round_trip_gives_the_same_codes_and_pixels(bundle: Bundle, tmp_path: Path) -> None:
    images = random_images(12, 3)
    codes = C.images_to_codes(bundle.vqvae, images)
    names = [f"digit {i}.png" for i in range(12)]
    size = C.write_dlc(tmp_path / "set.dlc", bundle, codes, names, batch=5)
    assert size == (tmp_path / "set.dlc").stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["set.dlc"]          # no temp file left behind
    for threads in (1, 2):
        read_names, decoded = with_threads(threads, C.read_dlc, tmp_path / "set.dlc", bundle)
        assert read_names == names and torch.equal(decoded, codes)
        assert np.array_equal(C.codes_to_images(bundle.vqvae, decoded), C.codes_to_images(bundle.vqvae, codes))


def test_empty_set_round_trips(bundle: Bundle) -> None:
    data = C.dlc_bytes(bundle, torch.zeros(0, 7, 7, dtype=torch.long), [])
    header, payload = C.parse_dlc(data)
    assert header["count"] == 0 and C.decode_grids(bundle.prior, payload, 0, (7, 7)).shape == (0, 7, 7)


def test_coder_cost_matches_the_information_content() -> None:
    """The stream is -sum log2 p(z_ij | z_<ij) of the coding conditionals, within 1 % + 8 bytes."""
    prior = tiny_prior(6)
    codes = prior.sample(64, generator=torch.Generator().manual_seed(0))   # typical grids: varied costs
    data, info = C.encode_with_stats(prior, codes)
    ideal = C.ideal_bits(prior, codes)
    assert np.allclose(info, ideal, rtol=1e-4)            # incremental and teacher-forced conditionals agree
    assert 8 * len(data) <= 1.01 * ideal.sum() + 64
    assert 8 * len(data) >= ideal.sum() - 64


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="shipped bundle missing")
def test_shipped_bundle_codes_its_examples_within_one_percent_of_ideal() -> None:
    shipped = load_bundle(SHIPPED)
    images = shipped.examples.images[:32].numpy()
    rows = C.compression_rows(shipped, images, [f"{i}.png" for i in range(32)])
    mean = C.summarise_rows(rows)
    assert mean["count"] == 32 and mean["uniform_bits"] == 49 * 4
    assert mean["ideal_bits"] < 0.6 * mean["uniform_bits"]               # the prior helps
    assert mean["coded_bits"] <= 1.01 * mean["ideal_bits"] + 64 / 32     # +8 bytes over the whole set
    words = sum(r["coded_bits"] for r in rows) / 32
    assert abs(words - round(words)) < 1e-6                # the rows share out whole 32-bit words
    assert 0 < mean["mse"] < 0.02 and mean["psnr"] == pytest.approx(10 * math.log10(1 / mean["mse"]))


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="shipped bundle missing")
def test_shipped_bundle_file_round_trip_across_thread_counts(tmp_path: Path) -> None:
    """Real digits, the real ensemble prior: written under 2 threads, read under 1, and the reverse."""
    shipped = load_bundle(SHIPPED)
    images = shipped.examples.images[32:44].numpy()
    codes = C.images_to_codes(shipped.vqvae, images)
    names = [f"{i}.png" for i in range(len(images))]
    for write_threads, read_threads in ((2, 1), (1, 2)):
        path = tmp_path / f"{write_threads}.dlc"
        with_threads(write_threads, C.write_dlc, path, shipped, codes, names, batch=5)
        read_names, decoded = with_threads(read_threads, C.read_dlc, path, shipped)
        assert read_names == names and torch.equal(decoded, codes)
        assert np.array_equal(C.codes_to_images(shipped.vqvae, decoded), C.codes_to_images(shipped.vqvae, codes))
    assert (tmp_path / "2.dlc").read_bytes() == (tmp_path / "1.dlc").read_bytes()


def test_chunk_size_keeps_a_transformers_cache_in_budget_and_files_record_it() -> None:
    """A transformer's chunks shrink until their key/value cache fits the budget (a multiple of 16
    images); a PixelCNN's stay at BATCH; a small set is one chunk. The default chunking is what the
    file records, and the reader decodes a several-chunk file with it."""
    torch.manual_seed(7)
    transformer = build_prior(PriorConfig(**{**TINY_PRIOR, "kind": "transformer", "channels": 256, "layers": 4,
                                             "heads": 4})).eval()
    per_grid = transformer.cache_bytes_per_grid()
    assert per_grid == 4 * 2 * 49 * 256 * 4                          # keys and values, float32, every block
    size = C.chunk_size(transformer, 10_000)
    assert size % 16 == 0 and 16 <= size < C.BATCH
    assert size * per_grid <= C.coder.CACHE_BUDGET_BYTES < (size + 16) * per_grid
    assert PriorEnsemble.of([transformer, transformer]).cache_bytes_per_grid() == 2 * per_grid
    assert C.chunk_size(tiny_prior(8), 10_000) == C.BATCH and C.chunk_size(transformer, 5) == 5
    codes = random_codes(size + 3, seed=9)
    vqvae = VQVAE(VQVAEConfig(**TINY_VQVAE)).eval()
    data = C.dlc_bytes(Bundle(vqvae=vqvae, prior=transformer, name="t"), codes)
    header, payload = C.parse_dlc(data)
    assert header["batch"] == size and len(header["chunk_crc32"]) == 2
    _, decoded = C.decode_dlc(header, payload, Bundle(vqvae=vqvae, prior=transformer, name="t"))
    assert torch.equal(decoded, codes)


def test_rows_and_rate_distortion_on_a_tiny_bundle(bundle: Bundle) -> None:
    images = random_images(6, 9)
    rows = C.compression_rows(bundle, images, [f"{i}.png" for i in range(6)])
    assert [r["name"] for r in rows] == [f"{i}.png" for i in range(6)]
    for r in rows:
        assert r["raw_bytes"] == 784 and r["png_bytes"] > 0 and r["uniform_bits"] == 196
        assert r["mse"] > 0 and r["psnr"] == pytest.approx(C.psnr(r["mse"]))
    rd = C.rate_distortion({"tiny": bundle}, images, jpeg_qualities=(10, 90), webp_qualities=(10, 90))
    assert rd["images"] == 6 and set(rd["points"]) == {"tiny"}
    assert [p["quality"] for p in rd["jpeg"]] == [10, 90] and len(rd["webp"]) == 2
    assert rd["jpeg"][1]["bits_per_image"] > rd["jpeg"][0]["bits_per_image"]
    assert rd["jpeg"][1]["mse"] < rd["jpeg"][0]["mse"]
    assert set(rd["match"]["tiny"]) == {"jpeg_bits", "webp_bits"}


def test_bits_to_match_mse_interpolates_in_log_mse() -> None:
    curve = [{"bits_per_image": 100.0, "mse": 0.04}, {"bits_per_image": 300.0, "mse": 0.01},
             {"bits_per_image": 200.0, "mse": 0.02}]
    assert C.bits_to_match_mse(curve, 0.02) == pytest.approx(200.0)
    assert C.bits_to_match_mse(curve, math.sqrt(0.04 * 0.02)) == pytest.approx(150.0)   # half-way in log MSE
    assert C.bits_to_match_mse(curve, 0.5) == 100.0        # even the lowest rate is as good
    assert C.bits_to_match_mse(curve, 0.001) is None       # the sweep never gets there
    assert C.bits_to_match_mse([], 0.1) is None


# ----------------------------------------------------------------------------- the header
def test_another_bundle_is_refused_naming_both_fingerprints(bundle: Bundle, valid_file: bytes, tmp_path) -> None:
    (tmp_path / "a.dlc").write_bytes(valid_file)
    other = tiny_bundle(1)
    with pytest.raises(C.CompressedFileError) as info:
        C.read_dlc(tmp_path / "a.dlc", other)
    assert C.bundle_fingerprint(bundle) in str(info.value) and C.bundle_fingerprint(other) in str(info.value)
    assert C.bundle_fingerprint(bundle) != C.bundle_fingerprint(other)


def test_fingerprint_follows_the_weight_values(bundle: Bundle, tmp_path: Path) -> None:
    bundle.weights_dtype = "float16"
    bundle.save(tmp_path / "b")
    bundle.weights_dtype = "float32"
    reloaded = load_bundle(tmp_path / "b")
    assert C.bundle_fingerprint(reloaded) == C.bundle_fingerprint(load_bundle(tmp_path / "b"))
    assert C.bundle_fingerprint(reloaded) != C.bundle_fingerprint(bundle)   # float16 rounding changed values
    with torch.no_grad():
        reloaded.prior.head2.bias[0] += 1e-3
    assert C.bundle_fingerprint(reloaded) != C.bundle_fingerprint(load_bundle(tmp_path / "b"))


@pytest.mark.parametrize("name", ["../x.png", "a/b.png", "a\\b.png", "..", ".hidden", "", " x", "a\0b", "c:d",
                                  "x" * 300, "\u202e\n.png", "con.png", "LPT1"])
def test_unsafe_names_are_refused_by_writer_and_reader(bundle: Bundle, name: str) -> None:
    with pytest.raises(ValueError):
        C.dlc_bytes(bundle, random_codes(1), [name])
    good = C.dlc_bytes(bundle, random_codes(1), ["ok.png"])
    version, header, rest = raw_parts(good)
    payload = rest[header["side"][1]:]
    codec, side = pack_side([name], None)
    with pytest.raises(C.CompressedFileError):         # version 2: the name in the compressed side block
        C.parse_dlc(frame({**header, "side": [codec, len(side)]}, side + payload))
    v1 = {**{k: header[k] for k in V1_FIELDS}, "names": [name], "labels": None}
    with pytest.raises(C.CompressedFileError):         # version 1: the name in the JSON header
        C.parse_dlc(frame(v1, payload, version=1))


def test_duplicate_output_names_are_refused(bundle: Bundle) -> None:
    with pytest.raises(ValueError, match="unique"):
        C.dlc_bytes(bundle, random_codes(2), ["a.png", "A.jpg"])       # both become a.png (case-insensitively)


def test_fifo_directory_and_missing_file_fail_at_once(tmp_path: Path, bundle: Bundle) -> None:
    fifo = tmp_path / "pipe.dlc"
    os.mkfifo(fifo)
    for path in (fifo, tmp_path, tmp_path / "missing.dlc"):
        start = time.monotonic()
        with pytest.raises(C.CompressedFileError):
            C.read_dlc(path, bundle)
        assert time.monotonic() - start < 2


# ----------------------------------------------------------------------------- fuzzing
def frame(header: dict | bytes, payload: bytes = b"", version: int = C.FORMAT_VERSION) -> bytes:
    """A .dlc file around any header, with a correct checksum (so only the header is hostile).
    ``payload``: everything between the header and the checksum (version 2: side block + words)."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    body = struct.pack("<8sHI", C.MAGIC, version, len(text)) + text + payload
    return body + struct.pack("<I", zlib.crc32(body))


def raw_parts(data: bytes) -> tuple[int, dict, bytes]:
    """(version, the header JSON as stored, the bytes between header and checksum) of a valid file."""
    _, version, hlen = struct.unpack_from("<8sHI", data)
    return version, json.loads(data[14:14 + hlen]), data[14 + hlen:-4]


V1_FIELDS = ("format", "bundle", "grid", "num_codes", "count", "batch", "payload_words", "codes_crc32")


def read_bytes(data: bytes, tmp_path: Path, bundle: Bundle):
    path = tmp_path / "fuzz.dlc"
    path.write_bytes(data)
    start = time.monotonic()
    try:
        return C.read_dlc(path, bundle)
    finally:
        assert time.monotonic() - start < 2, "reading took more than 2 s"


FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes_give_only_the_clear_error(data: bytes, tmp_path: Path, bundle: Bundle) -> None:
    with pytest.raises(C.CompressedFileError):
        read_bytes(data, tmp_path, bundle)


@FUZZ
@given(cut=st.integers(min_value=0))
def test_truncated_files_give_only_the_clear_error(cut: int, tmp_path: Path, bundle: Bundle, valid_file) -> None:
    with pytest.raises(C.CompressedFileError):
        read_bytes(valid_file[:cut % len(valid_file)], tmp_path, bundle)


@FUZZ
@given(bits=st.lists(st.integers(min_value=0), min_size=1, max_size=4))
def test_bit_flips_give_only_the_clear_error(bits: list[int], tmp_path: Path, bundle: Bundle, valid_file) -> None:
    data = bytearray(valid_file)
    for bit in bits:
        data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    if bytes(data) == valid_file:                 # flips that cancel out
        return
    with pytest.raises(C.CompressedFileError):
        read_bytes(bytes(data), tmp_path, bundle)


@pytest.fixture(scope="module")
def valid_v1(bundle: Bundle, valid_file: bytes) -> tuple[dict, bytes]:
    """(header, payload) of a version-1 file of the same five grids (no floor, names in the header)."""
    _, header, _ = raw_parts(valid_file)
    payload = C.encode_grids(bundle.prior, random_codes(5, 1), batch=2, p_max=None)
    v1 = {**{k: header[k] for k in V1_FIELDS}, "names": [f"img{i}.png" for i in range(5)], "labels": None,
          "payload_words": len(payload) // 4}
    return v1, payload


HUGE = st.sampled_from([10**9, 2**31, 2**63, 10**400, -1, 0, 7, 16, 4096, 10**6])
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                       max_leaves=8)


@FUZZ
@given(field=st.sampled_from(["grid", "num_codes", "count", "batch", "names", "labels", "payload_words",
                              "codes_crc32", "bundle", "format"]),
       value=HUGE | JSONISH | st.lists(HUGE, max_size=3))
def test_hostile_header_fields_give_only_the_clear_error(field, value, tmp_path: Path, bundle: Bundle,
                                                        valid_v1: tuple[dict, bytes]) -> None:
    """Version 1 (names and labels in the header)."""
    v1, v1_payload = valid_v1
    hostile = {**v1, field: value}
    try:
        names, codes = read_bytes(frame(hostile, v1_payload, version=1), tmp_path, bundle)
    except C.CompressedFileError:
        return
    assert (len(names) == codes.shape[0] and codes.shape[1:] == (7, 7))


@pytest.mark.parametrize("text", [b"[" * 100_000 + b"]" * 100_000, b'{"count": 1' + b"0" * 5000 + b"}",
                                  b"\xff\xfe", b"1e999", b"null"])
def test_hostile_json_gives_only_the_clear_error(text: bytes, tmp_path: Path, bundle: Bundle) -> None:
    with pytest.raises(C.CompressedFileError):
        read_bytes(frame(text), tmp_path, bundle)


def test_declared_lengths_beyond_the_file_are_refused_before_allocating(tmp_path, bundle: Bundle) -> None:
    body = struct.pack("<8sHI", C.MAGIC, 1, 0xFFFFFFFF) + b"{}"
    with pytest.raises(C.CompressedFileError, match="truncated"):
        read_bytes(body + struct.pack("<I", zlib.crc32(body)), tmp_path, bundle)
    with pytest.raises(C.CompressedFileError, match="version"):
        read_bytes(frame(b"{}", version=C.FORMAT_VERSION + 1), tmp_path, bundle)


def test_a_corrupt_stream_with_a_valid_checksum_fails_the_codes_checksum(tmp_path, bundle: Bundle,
                                                                         valid_file: bytes) -> None:
    _, header, rest = raw_parts(valid_file)
    side = header["side"][1]
    flipped = rest[:side] + bytes([rest[side] ^ 0x80]) + rest[side + 1:]
    with pytest.raises(C.CompressedFileError, match="checksum"):
        read_bytes(frame(header, flipped), tmp_path, bundle)


# ----------------------------------------------------------------------------- command line
def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err, err
    for needle in needles:
        assert needle in err


@pytest.fixture(scope="module")
def saved_bundles(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bundles")
    tiny_bundle(0).save(root / "a")
    tiny_bundle(1).save(root / "b")
    return root / "a", root / "b"


def write_pngs(folder: Path, n: int) -> np.ndarray:
    folder.mkdir(parents=True, exist_ok=True)
    images = random_images(n, 11)
    for i, image in enumerate(images):
        Image.fromarray(image[0]).save(folder / f"digit_{i}.png")
    return images


def test_cli_compress_decompress_round_trip(capsys, tmp_path: Path, saved_bundles) -> None:
    a, _ = saved_bundles
    images = write_pngs(tmp_path / "in", 4)
    Image.fromarray(images[0, 0]).save(tmp_path / "single.bmp")
    code, out, err = cli(capsys, "compress", str(tmp_path / "in"), str(tmp_path / "single.bmp"),
                         "--bundle", str(a), "-o", str(tmp_path / "set.dlc"))
    assert code == 0, err
    assert "5 image(s)" in out
    code, out, err = cli(capsys, "decompress", str(tmp_path / "set.dlc"), "--bundle", str(a),
                         "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "out")) == ["digit_0.png", "digit_1.png", "digit_2.png", "digit_3.png",
                                                    "single.png"]
    bundle = load_bundle(a)
    expected = C.codes_to_images(bundle.vqvae, C.images_to_codes(bundle.vqvae, images))
    for i in range(4):
        assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / f"digit_{i}.png"))[None], expected[i])
    # decompressing again into the same folder would overwrite: refused, nothing changed
    code, _, err = cli(capsys, "decompress", str(tmp_path / "set.dlc"), "--bundle", str(a), "-o", str(tmp_path / "out"))
    assert_one_line_error(code, err, "already exists")


def test_cli_mismatched_bundle_is_one_line_and_writes_nothing(capsys, tmp_path: Path, saved_bundles) -> None:
    a, b = saved_bundles
    write_pngs(tmp_path / "in", 2)
    assert cli(capsys, "compress", str(tmp_path / "in"), "--bundle", str(a), "-o", str(tmp_path / "s.dlc"))[0] == 0
    code, _, err = cli(capsys, "decompress", str(tmp_path / "s.dlc"), "--bundle", str(b), "-o", str(tmp_path / "out"))
    assert_one_line_error(code, err, C.bundle_fingerprint(load_bundle(a)), C.bundle_fingerprint(load_bundle(b)))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "traversal"])
def test_cli_corrupt_or_hostile_file_is_one_line_and_writes_nothing(capsys, tmp_path: Path, saved_bundles,
                                                                    damage: str) -> None:
    a, _ = saved_bundles
    write_pngs(tmp_path / "in", 3)
    assert cli(capsys, "compress", str(tmp_path / "in"), "--bundle", str(a), "-o", str(tmp_path / "s.dlc"))[0] == 0
    data = (tmp_path / "s.dlc").read_bytes()
    if damage == "truncate":
        data = data[:-7]
    elif damage == "flip":
        data = data[:40] + bytes([data[40] ^ 4]) + data[41:]
    elif damage == "garbage":
        data = os.urandom(200)
    else:
        _, header, rest = raw_parts(data)
        codec, side = pack_side(["../../evil.png", "x.png", "y.png"], None)
        data = frame({**header, "side": [codec, len(side)]}, side + rest[header["side"][1]:])
    (tmp_path / "bad.dlc").write_bytes(data)
    (tmp_path / "out").mkdir()
    code, _, err = cli(capsys, "decompress", str(tmp_path / "bad.dlc"), "--bundle", str(a), "-o", str(tmp_path / "out"))
    assert_one_line_error(code, err)
    assert os.listdir(tmp_path / "out") == []
    assert sorted(os.listdir(tmp_path)) == ["bad.dlc", "in", "out", "s.dlc"]


def test_cli_input_errors_are_one_line(capsys, tmp_path: Path, saved_bundles) -> None:
    a, _ = saved_bundles
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.png").write_bytes(b"not a png")
    cases = [
        (["compress", str(tmp_path / "nothing.png")], "no such image"),
        (["compress", str(tmp_path / "x")], "Could not read image"),
        (["compress", str(tmp_path)], "No images"),
    ]
    for argv, needle in cases:
        code, _, err = cli(capsys, *argv, "--bundle", str(a), "-o", str(tmp_path / "o.dlc"))
        assert_one_line_error(code, err, needle)
    write_pngs(tmp_path / "y", 1)
    Image.fromarray(random_images(1)[0, 0]).save(tmp_path / "digit_0.jpg")
    code, _, err = cli(capsys, "compress", str(tmp_path / "y"), str(tmp_path / "digit_0.jpg"), "--bundle", str(a),
                       "-o", str(tmp_path / "o.dlc"))
    assert_one_line_error(code, err, "rename one")
    assert not (tmp_path / "o.dlc").exists()


def test_shipped_fingerprints_name_the_bundles_that_have_them() -> None:
    """Every entry of SHIPPED_FINGERPRINTS is the fingerprint of the trained_models/ folder it names, and
    every shipped bundle with a prior is listed, so a file made with one names the folder that decodes it."""
    from explorer.core.compression.dlc import SHIPPED_FINGERPRINTS
    models = REPO / "trained_models"
    if not (models / "mnist").is_dir():
        pytest.skip("trained_models/ is not in this checkout")
    named = {name: fingerprint for fingerprint, (name, _) in SHIPPED_FINGERPRINTS.items()}
    for folder in sorted(p for p in models.iterdir() if (p / "config.json").is_file()):
        bundle = load_bundle(folder)
        if bundle.prior is not None:
            assert named.get(folder.name) == C.bundle_fingerprint(bundle), folder.name


def test_a_file_from_another_shipped_bundle_names_the_folder_that_decodes_it(bundle: Bundle, tmp_path: Path) -> None:
    from explorer.core.compression.dlc import SHIPPED_FINGERPRINTS
    images = random_images(2, 5)
    path = tmp_path / "old.dlc"
    C.write_dlc(path, bundle, C.images_to_codes(bundle.vqvae, images), ["a.png", "b.png"])
    header, payload = C.parse_dlc(path.read_bytes())
    header = {**header, "bundle": next(iter(SHIPPED_FINGERPRINTS))}
    with pytest.raises(C.CompressedFileError, match="decompress it with trained_models/mnist-pixelcnn"):
        C.decode_dlc(header, payload, bundle)
