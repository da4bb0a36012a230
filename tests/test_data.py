"""Dataset registry: IDX/CIFAR/folder readers, splits, class filters and error messages."""
from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.core.data import datasets as data_module
from explorer.core.data.datasets import (DATASETS, DataConfig, DataError, default_data_root, load_data,
                                         describe_split, missing_data_message, parse_classes, stratified_split,
                                         usable_root,
                                         read_idx, split_indices)

T10K_IMAGES = "t10k-images-idx3-ubyte.gz"
T10K_LABELS = "t10k-labels-idx1-ubyte.gz"


@pytest.fixture(scope="module")
def raw_mnist(mnist_root: Path) -> tuple[np.ndarray, np.ndarray]:
    return read_idx(mnist_root / T10K_IMAGES), read_idx(mnist_root / T10K_LABELS)


def _write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


# ------------------------------------------------------------------------------------ IDX


def test_read_idx_shared_files(raw_mnist: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = raw_mnist
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.uint8
    assert labels[0] == 7 and set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images.min() == 0


def test_read_idx_plain_and_gzip_agree_and_handle_wider_types(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a", array)
    _write_idx(tmp_path / "a.gz", array, compress=True)
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)
    ints = np.array([1, -2, 70000], dtype=">i4")   # type 0x0C, big-endian on disk
    (tmp_path / "i").write_bytes(bytes([0, 0, 0x0C, 1]) + (3).to_bytes(4, "big") + ints.tobytes())
    assert read_idx(tmp_path / "i").tolist() == [1, -2, 70000]


@pytest.mark.parametrize("damage", ["truncated", "trailing", "magic", "gzip-cut", "empty", "header-cut"])
def test_read_idx_corrupt_files_raise_data_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "x-idx3-ubyte"
    array = np.ones((5, 4, 4), dtype=np.uint8)
    _write_idx(path, array)
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[:-10])
    elif damage == "trailing":
        path.write_bytes(raw + b"\0")
    elif damage == "magic":
        path.write_bytes(b"\x01\x02" + raw[2:])
    elif damage == "gzip-cut":
        path.write_bytes(gzip.compress(raw)[:30])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(raw[:9])
    with pytest.raises(DataError, match=str(path.name)):
        read_idx(path)


def test_corrupt_dataset_file_gives_data_error_from_load_data(tmp_path: Path, mnist_root: Path) -> None:
    (tmp_path / T10K_LABELS).write_bytes((mnist_root / T10K_LABELS).read_bytes())
    (tmp_path / T10K_IMAGES).write_bytes((mnist_root / T10K_IMAGES).read_bytes()[:5000])
    with pytest.raises(DataError, match="corrupt|truncated"):
        load_data(DataConfig(root=str(tmp_path)))


# ------------------------------------------------------------------------- registry loading


def test_shared_mnist_loads_as_one_pool(mnist_root: Path, raw_mnist: tuple[np.ndarray, np.ndarray]) -> None:
    splits = load_data(DataConfig(root=str(mnist_root), val_fraction=0.0))
    assert splits.name == "mnist" and splits.class_names == tuple("0123456789")
    assert splits.train.images.shape == (10_000, 1, 28, 28) and splits.train.images.dtype == torch.uint8
    assert splits.train.labels.dtype == torch.long and len(splits.val) == 0
    assert splits.train.labels[0].item() == 7
    np.testing.assert_array_equal(splits.train.images[:, 0].numpy(), raw_mnist[0])


def test_holdout_last_splits_by_original_index(mnist_root: Path, raw_mnist: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = raw_mnist
    splits = load_data(DataConfig(root=str(mnist_root), holdout_last=1000))
    assert (len(splits.train), len(splits.val)) == (9000, 1000)
    np.testing.assert_array_equal(splits.train.images[:, 0].numpy(), images[:9000])
    np.testing.assert_array_equal(splits.val.images[:, 0].numpy(), images[9000:])
    np.testing.assert_array_equal(splits.val.labels.numpy(), labels[9000:])


def test_class_filter_is_applied_after_the_holdout_split(mnist_root: Path,
                                                         raw_mnist: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = raw_mnist
    splits = load_data(DataConfig(root=str(mnist_root), holdout_last=1000, classes=parse_classes("1-4")))
    val_keep = np.isin(labels[9000:], [1, 2, 3, 4])
    train_keep = np.isin(labels[:9000], [1, 2, 3, 4])
    assert len(splits.val) == val_keep.sum() and len(splits.train) == train_keep.sum()
    np.testing.assert_array_equal(splits.val.images[:, 0].numpy(), images[9000:][val_keep])
    np.testing.assert_array_equal(splits.train.labels.numpy(), labels[:9000][train_keep])
    assert set(splits.val.labels.tolist()) == {1, 2, 3, 4}


def test_class_filter_never_moves_images_between_sets_in_random_split(mnist_root: Path) -> None:
    base = DataConfig(root=str(mnist_root), val_fraction=0.2, seed=3, limit=2000)
    full = load_data(base)
    filtered = load_data(DataConfig(**{**base.__dict__, "classes": (0, 9)}))
    keep = torch.isin(full.val.labels, torch.tensor([0, 9]))
    assert torch.equal(filtered.val.images, full.val.images[keep])
    assert len(full.val) == 400 and len(full.train) == 1600


def test_limit_keeps_first_images_and_bad_filters_are_reported(mnist_root: Path) -> None:
    splits = load_data(DataConfig(root=str(mnist_root), limit=100, holdout_last=10))
    assert (len(splits.train), len(splits.val)) == (90, 10)
    with pytest.raises(DataError, match="0..9"):
        load_data(DataConfig(root=str(mnist_root), classes=(3, 12)))
    with pytest.raises(DataError, match="holdout_last"):
        load_data(DataConfig(root=str(mnist_root), limit=100, holdout_last=100))


def test_torchvision_layout_with_train_and_test_pools_train_first(tmp_path: Path) -> None:
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    train_x = np.full((3, 28, 28), 10, np.uint8)
    test_x = np.full((2, 28, 28), 200, np.uint8)
    _write_idx(raw / "train-images-idx3-ubyte", train_x)
    _write_idx(raw / "train-labels-idx1-ubyte", np.array([0, 1, 2]))
    _write_idx(raw / "t10k-images-idx3-ubyte.gz", test_x, compress=True)
    _write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.array([8, 9]), compress=True)
    splits = load_data(DataConfig(name="fashion-mnist", root=str(tmp_path), holdout_last=2))
    assert splits.name == "fashion-mnist" and splits.class_names[0] == "T-shirt/top"
    assert splits.train.labels.tolist() == [0, 1, 2] and splits.val.labels.tolist() == [8, 9]
    assert splits.train.images.max() == 10 and splits.val.images.min() == 200


def test_labels_out_of_range_are_reported(tmp_path: Path) -> None:
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, 42]))
    with pytest.raises(DataError, match="labels outside"):
        load_data(DataConfig(name="kmnist", root=str(tmp_path)))


def test_missing_data_offline_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLE_DATA_ROOT", str(tmp_path / "cache"))
    assert default_data_root() == tmp_path / "cache"
    with pytest.raises(DataError) as err:
        load_data(DataConfig(name="kmnist"))
    message = str(err.value)
    assert "--data-root" in message and "--download" in message
    assert str(tmp_path / "cache" / "KMNIST" / "raw") in message and "t10k-images-idx3-ubyte" in message
    with pytest.raises(DataError, match="choose one of mnist, fashion-mnist, kmnist, cifar10"):
        load_data(DataConfig(name="imagenet", root=str(tmp_path)))


def test_download_only_when_allowed_and_failure_is_a_data_error(tmp_path: Path, mnist_root: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def offline(spec: object, root: Path) -> None:
        calls.append(root)
        raise OSError("no route to host")

    monkeypatch.setattr(data_module, "_download_with_torchvision", offline)
    with pytest.raises(DataError, match="--data-root"):
        load_data(DataConfig(root=str(tmp_path)))
    assert calls == []                                   # download=False: never tried
    with pytest.raises(DataError, match="no route to host"):
        load_data(DataConfig(root=str(tmp_path), download=True))
    assert calls == [tmp_path]

    def fake_download(spec: object, root: Path) -> None:   # what torchvision leaves behind
        raw = root / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for name in (T10K_IMAGES, T10K_LABELS):
            shutil.copy(mnist_root / name, raw / name)
        for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
            shutil.copy(raw / (name.replace("train", "t10k") + ".gz"), raw / (name + ".gz"))

    monkeypatch.setattr(data_module, "_download_with_torchvision", fake_download)
    splits = load_data(DataConfig(root=str(tmp_path), download=True, val_fraction=0.0))
    assert len(splits.train) == 20_000


def test_default_data_root_is_a_per_user_folder_and_stale_roots_fall_back(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs
    monkeypatch.delenv("DLE_DATA_ROOT", raising=False)
    assert default_data_root() == Path(platformdirs.user_data_dir("discrete-latent-explorer", appauthor=False)) / "data"
    assert "shared" not in str(default_data_root())
    assert usable_root("../shared/data/does-not-exist") is None and usable_root(None) is None
    assert usable_root(str(tmp_path)) == str(tmp_path)


def test_shipped_bundles_record_no_machine_path() -> None:
    for config in sorted((Path(__file__).resolve().parents[1] / "trained_models").glob("*/config.json")):
        assert json.loads(config.read_text())["data"]["root"] is None, config


def test_download_dataset_reports_progress_checks_md5_and_leaves_no_partial_files(
        tmp_path: Path, mnist_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import io
    import urllib.request

    import torchvision.datasets as tv_datasets

    files = {name: (mnist_root / name).read_bytes() for name in (T10K_IMAGES, T10K_LABELS)}
    resources = [(name, hashlib.md5(data).hexdigest()) for name, data in files.items()]

    class Response(io.BytesIO):
        def __init__(self, data: bytes) -> None:
            super().__init__(data)
            self.headers = {"Content-Length": str(len(data))}

    def fake_urlopen(url: str, timeout: float = 0):
        if url.startswith("https://down/"):
            raise OSError("no route to host")
        return Response(files[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setattr(tv_datasets.MNIST, "mirrors", ["https://down/", "https://up/"])
    monkeypatch.setattr(tv_datasets.MNIST, "resources", resources)
    cfg = DataConfig(root=str(tmp_path / "data"), holdout_last=1000)
    assert "not found" in missing_data_message(cfg)
    progress = list(data_module.download_dataset(cfg, chunk_bytes=1 << 18))
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 3
    assert missing_data_message(cfg) is None and len(load_data(cfg).val) == 1000
    assert not list((tmp_path / "data").rglob(".*.part"))

    monkeypatch.setattr(tv_datasets.MNIST, "resources", [(T10K_IMAGES, "0" * 32)])
    with pytest.raises(DataError, match="checksum"):
        list(data_module.download_dataset(DataConfig(root=str(tmp_path / "other"))))
    assert not list((tmp_path / "other").rglob("*.gz")) and not list((tmp_path / "other").rglob(".*.part"))


# ------------------------------------------------------------------------------- CIFAR-10


def _fake_cifar(root: Path, protocol: int) -> tuple[np.ndarray, list[int]]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (6, 3072), dtype=np.uint8)
    labels = [0, 1, 2, 3, 4, 9]
    for name, rows in (("data_batch_1", slice(0, 4)), ("test_batch", slice(4, 6))):
        batch = {b"batch_label": b"fake", b"data": data[rows], b"labels": labels[rows],
                 b"filenames": [b"x.png"] * len(labels[rows])}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
    return data, labels


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_fake_cifar_batches_load_through_restricted_unpickler(tmp_path: Path, protocol: int) -> None:
    data, labels = _fake_cifar(tmp_path, protocol)
    splits = load_data(DataConfig(name="cifar10", root=str(tmp_path), holdout_last=2))
    assert splits.image_shape == (3, 32, 32) and splits.class_names[-1] == "truck"
    assert splits.train.labels.tolist() == labels[:4] and splits.val.labels.tolist() == labels[4:]
    np.testing.assert_array_equal(splits.train.images.numpy(), data[:4].reshape(4, 3, 32, 32))
    gray = load_data(DataConfig(name="cifar10", root=str(tmp_path), val_fraction=0.0, grayscale=True,
                                image_size=16))
    assert gray.image_shape == (1, 16, 16) and gray.train.images.dtype == torch.uint8


class _RunsShell:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (self.command,)


class _Evals:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return eval, ("__import__('os').getcwd()",)


@pytest.mark.parametrize("payload", ["os.system", "eval"])
def test_hostile_cifar_pickle_is_refused_without_side_effects(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    evil = _RunsShell(f"touch {marker}") if payload == "os.system" else _Evals()
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": evil, b"labels": [0]}, protocol=2))
    with pytest.raises(DataError, match="refused"):
        load_data(DataConfig(name="cifar10", root=str(tmp_path)))
    assert not marker.exists()


def test_corrupt_cifar_batches_are_data_errors(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8),
                                                      b"labels": [1, 2]})[:-20])
    with pytest.raises(DataError, match="test_batch"):
        load_data(DataConfig(name="cifar10", root=str(tmp_path)))
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [1, 2]}))
    with pytest.raises(DataError, match="3072"):
        load_data(DataConfig(name="cifar10", root=str(tmp_path)))


# --------------------------------------------------------------------------- image folders


def _png(path: Path, value: int, size: tuple[int, int] = (8, 8), mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, size, color).save(path)


def test_folder_with_class_subfolders_and_loose_files(tmp_path: Path) -> None:
    _png(tmp_path / "loose.png", 5)
    _png(tmp_path / "cats" / "a.png", 10)
    _png(tmp_path / "cats" / "b.png", 20)
    _png(tmp_path / "dogs" / "c.png", 30)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    splits = load_data(DataConfig(name=f"folder:{tmp_path}", val_fraction=0.0))
    assert splits.class_names == ("cats", "dogs") and splits.name == f"folder:{tmp_path}"
    assert splits.train.labels.tolist() == [-1, 0, 0, 1]
    assert splits.image_shape == (1, 8, 8)
    assert splits.train.images[:, 0, 0, 0].tolist() == [5, 10, 20, 30]
    only_dogs = load_data(DataConfig(name=f"folder:{tmp_path}", val_fraction=0.0, classes=(1,)))
    assert only_dogs.train.labels.tolist() == [1]


def test_folder_holdout_is_a_seeded_sample_of_every_class_unless_asked_in_order(tmp_path: Path) -> None:
    for c, name in enumerate(("a", "b", "c")):              # listed class by class: 10 a, 10 b, 20 c
        for i in range(10 if c < 2 else 20):
            _png(tmp_path / name / f"{i:02d}.png", 10 * c + i)
    cfg = DataConfig(name=f"folder:{tmp_path}", holdout_last=8, seed=3)
    splits = load_data(cfg)
    assert sorted(splits.val.labels.tolist()) == [0, 0, 1, 1, 2, 2, 2, 2]     # every class, in proportion
    assert len(splits.train) == 32
    again = load_data(cfg)
    assert torch.equal(again.val.images, splits.val.images)                # same seed, same split
    other = load_data(DataConfig(name=f"folder:{tmp_path}", holdout_last=8, seed=4))
    assert not torch.equal(other.val.images, splits.val.images)
    fraction = load_data(DataConfig(name=f"folder:{tmp_path}", val_fraction=0.25))
    assert sorted(fraction.val.labels.tolist()) == [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]   # 2.5, 2.5, 5: one tie up
    in_order = load_data(DataConfig(name=f"folder:{tmp_path}", holdout_last=8, holdout_in_order=True))
    assert in_order.val.labels.tolist() == [2] * 8                          # the last 8 as listed: one class
    assert "drawn at random from every class (seed 3)" in describe_split(cfg)
    assert "the last 8 images as listed" in describe_split(DataConfig(name="folder:x", holdout_last=8,
                                                                     holdout_in_order=True))
    assert describe_split(DataConfig(holdout_last=1000)) == "the last 1000 images"


def test_stratified_split_counts_add_up() -> None:
    labels = torch.tensor([0] * 7 + [1] * 3 + [2] * 1)
    train, val = stratified_split(labels, 5, seed=0)
    assert len(val) == 5 and len(train) == 6 and not set(train.tolist()) & set(val.tolist())
    assert torch.equal(torch.sort(torch.cat([train, val])).values, torch.arange(11))


def test_folder_without_subfolders_resize_and_grayscale(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", 100, size=(10, 6), mode="RGB")
    _png(tmp_path / "b.jpg", 50, size=(12, 12), mode="RGB")
    with pytest.raises(DataError, match="image_size"):
        load_data(DataConfig(name=f"folder:{tmp_path}"))
    colour = load_data(DataConfig(name=f"folder:{tmp_path}", image_size=4, val_fraction=0.0))
    assert colour.class_names == () and colour.train.labels.tolist() == [-1, -1]
    assert colour.image_shape == (3, 4, 4)
    assert colour.train.images[0, :, 2, 2].tolist() == [100, 0, 155]
    gray = load_data(DataConfig(name=f"folder:{tmp_path}", image_size=4, grayscale=True, val_fraction=0.0))
    assert gray.image_shape == (1, 4, 4)
    expected = round(0.299 * 100 + 0.114 * 155)
    assert abs(int(gray.train.images[0, 0, 2, 2]) - expected) <= 1


def test_folder_errors_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_data(DataConfig(name=f"folder:{tmp_path / 'nope'}"))
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match="No images"):
        load_data(DataConfig(name=f"folder:{tmp_path}"))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match="broken.png"):
        load_data(DataConfig(name=f"folder:{tmp_path}"))


# ---------------------------------------------------------------------- parsing and config


@pytest.mark.parametrize("text, expected", [("1-4", (1, 2, 3, 4)), ("0,2,5-7", (0, 2, 5, 6, 7)),
                                            (" 3 ", (3,)), ("4, 1-2, 2", (1, 2, 4)), ("7-7", (7,))])
def test_parse_classes(text: str, expected: tuple[int, ...]) -> None:
    assert parse_classes(text) == expected


@pytest.mark.parametrize("text", ["", "a", "4-1", "1-", "1,,x", "-3", "0-99999999"])
def test_parse_classes_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_classes(text)


def test_split_indices_deterministic_by_seed() -> None:
    train_a, val_a = split_indices(1000, val_fraction=0.1, seed=1)
    train_b, val_b = split_indices(1000, val_fraction=0.1, seed=1)
    _, val_c = split_indices(1000, val_fraction=0.1, seed=2)
    assert torch.equal(val_a, val_b) and torch.equal(train_a, train_b)
    assert not torch.equal(val_a, val_c)
    assert len(val_a) == 100 and torch.equal(torch.cat([train_a, val_a]).sort().values, torch.arange(1000))


def test_data_config_round_trips_through_json() -> None:
    cfg = DataConfig(name="kmnist", root="/data", classes=(1, 2), holdout_last=1000, image_size=32)
    text = json.dumps(cfg.to_dict())
    assert json.loads(text)["classes"] == [1, 2]
    assert DataConfig.from_dict(json.loads(text)) == cfg
    assert DataConfig.from_dict({"name": "mnist", "unknown_key": 1}) == DataConfig()
    with pytest.raises(ValueError, match="holdout_last"):
        DataConfig.from_dict({"holdout_last": "lots"})
    assert set(DATASETS) == {"mnist", "fashion-mnist", "kmnist", "cifar10"}


def _python2_style_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch pickled the way the real CIFAR-10 files are: Python 2, protocol 2, str keys and str payload."""
    def short_str(text: bytes) -> bytes:
        return b"U" + bytes([len(text)]) + text
    n, width = data.shape
    shape = b"K" + bytes([n]) + b"M" + width.to_bytes(2, "little") + b"\x86"
    dtype = (b"cnumpy\ndtype\n" + short_str(b"u1") + b"K\x00K\x01\x87R(K\x03" + short_str(b"|")
             + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    array = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + short_str(b"b") + b"\x87R"
             + b"(K\x01" + shape + dtype + b"\x89T" + len(data.tobytes()).to_bytes(4, "little")
             + data.tobytes() + b"tb")
    label_list = b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return (b"\x80\x02}(" + short_str(b"data") + array + short_str(b"labels") + label_list + b"u.")


def test_python2_format_cifar_batch_loads(tmp_path: Path) -> None:
    data = np.random.default_rng(1).integers(0, 256, (3, 3072), dtype=np.uint8)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(_python2_style_batch(data, [7, 8, 9]))
    splits = load_data(DataConfig(name="cifar10", root=str(tmp_path), val_fraction=0.0))
    assert splits.train.labels.tolist() == [7, 8, 9]
    np.testing.assert_array_equal(splits.train.images.numpy(), data.reshape(3, 3, 32, 32))
