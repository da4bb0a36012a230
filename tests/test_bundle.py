"""Bundles: bit-exact round trips, every corrupt folder refused with BundleError, atomic saves."""
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.core.bundle import Bundle, BundleError, load_bundle
from explorer.core.data import ImageSet
from explorer.core.model_card import earlier_card
from explorer.core.models.ensemble import PriorEnsemble
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.vqvae import VQVAE, VQVAEConfig
from prior_helpers import randomize_positional_biases

TINY_VQ = dict(hidden_channels=16, res_channels=8, res_blocks=1, num_codes=16, code_dim=4)


def make_bundle(num_codes: int = 16, with_prior: bool = True, seed: int = 0, positional: bool = True) -> Bundle:
    """A tiny bundle whose parameters and buffers are all non-default (one training forward)."""
    torch.manual_seed(seed)
    vqvae = VQVAE(VQVAEConfig(**{**TINY_VQ, "num_codes": num_codes}))
    vqvae.train()
    with torch.no_grad():
        vqvae(torch.rand(8, 1, 28, 28))          # k-means init + EMA update: buffers change
    vqvae.eval()
    prior = None
    if with_prior:
        prior = build_prior(PriorConfig(num_codes=num_codes, channels=16, layers=2, head_channels=16,
                                        num_classes=10, positional=positional)).eval()
        randomize_positional_biases(prior, seed)
    g = torch.Generator().manual_seed(seed)
    examples = ImageSet(torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8, generator=g),
                        torch.tensor([3, 1, 4, 1, 5]))
    return Bundle(vqvae=vqvae, prior=prior, name="tiny", data={"name": "mnist", "limit": 600},
                  history={"steps": 7, "command": "python -m explorer train vqvae"},
                  metrics={"mse": 0.0125, "perplexity": 9.5}, examples=examples)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(parent: Path) -> list[str]:
    """Temporary or moved-aside folders a save may have left next to the bundle."""
    return [p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "bundle"
    make_bundle().save(path)
    return path


def assert_plain(exc: BaseException) -> None:
    message = str(exc)
    assert message and "Traceback" not in message and len(message) < 400 and "\n" not in message.strip()


def assert_prior_config_refused(path: Path, update: dict, needle: str) -> None:
    """The bundle at ``path`` with ``update`` written into its prior's config fails to load with one
    plain message that contains ``needle``."""
    _edit_config(path, lambda c: c["prior"]["config"].update(update))
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    assert_plain(info.value)
    assert needle in str(info.value)


# ---------------------------------------------------------------------------------- round trip
def test_round_trip_is_bit_exact(tmp_path: Path) -> None:
    original = make_bundle()
    original.save(tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    for mine, theirs in ((original.vqvae, loaded.vqvae), (original.prior, loaded.prior)):
        a, b = mine.state_dict(), theirs.state_dict()
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
    assert bool(loaded.vqvae.quantizer.initialized)
    assert loaded.vqvae.config == original.vqvae.config
    assert loaded.prior.config == original.prior.config
    assert torch.equal(loaded.examples.images, original.examples.images)
    assert torch.equal(loaded.examples.labels, original.examples.labels)
    assert (loaded.name, loaded.data, loaded.history, loaded.metrics) == \
        (original.name, original.data, original.history, original.metrics)
    assert loaded.path == (tmp_path / "b").resolve()
    labels = torch.tensor([0, 1, 2, 3])
    s1 = original.prior.sample(4, generator=torch.Generator().manual_seed(5), labels=labels)
    s2 = loaded.prior.sample(4, generator=torch.Generator().manual_seed(5), labels=labels)
    assert torch.equal(s1, s2)
    with torch.no_grad():
        assert torch.equal(original.vqvae.decode(s1), loaded.vqvae.decode(s2))


def test_bundle_without_prior_or_examples(tmp_path: Path) -> None:
    bundle = make_bundle(with_prior=False)
    bundle.examples = None
    bundle.save(tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    assert loaded.prior is None and loaded.examples is None
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["config.json", "vqvae.safetensors"]


def test_bundle_from_before_positional_biases_still_loads(tmp_path: Path) -> None:
    """Older config.json files have no "positional" key: they mean a prior without the biases."""
    old = make_bundle(positional=False)
    old.save(tmp_path / "old")
    _edit_config(tmp_path / "old", lambda cfg: cfg["prior"]["config"].pop("positional"))
    loaded = load_bundle(tmp_path / "old")
    assert loaded.prior.config.positional is False and PriorConfig().positional is True
    codes, labels = torch.randint(0, 16, (3, 7, 7)), torch.tensor([1, 2, 3])
    assert torch.equal(loaded.prior.log_prob(codes, labels), old.prior.log_prob(codes, labels))
    # A positional prior whose config lost the key disagrees with its weights: a plain refusal.
    make_bundle().save(tmp_path / "new")
    _edit_config(tmp_path / "new", lambda cfg: cfg["prior"]["config"].pop("positional"))
    with pytest.raises(BundleError) as info:
        load_bundle(tmp_path / "new")
    assert_plain(info.value)


def test_ensemble_prior_round_trips_bit_exactly(tmp_path: Path) -> None:
    bundle = make_bundle()
    bundle.prior = PriorEnsemble.of([bundle.prior, make_bundle(seed=1).prior]).eval()
    bundle.save(tmp_path / "ens")
    loaded = load_bundle(tmp_path / "ens")
    assert isinstance(loaded.prior, PriorEnsemble) and loaded.prior.config.members == 2
    a, b = bundle.prior.state_dict(), loaded.prior.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    codes, labels = torch.randint(0, 16, (3, 7, 7)), torch.tensor([1, 2, 3])
    assert torch.equal(loaded.prior.log_prob(codes, labels), bundle.prior.log_prob(codes, labels))


def test_float16_storage_halves_the_files_and_loads_as_float32(tmp_path: Path) -> None:
    bundle = make_bundle()
    bundle.save(tmp_path / "f32")
    bundle.weights_dtype = "float16"
    with torch.no_grad():
        bundle.vqvae.quantizer.ema_counts.fill_(1e6)      # beyond float16's range (65504): kept as float32
    bundle.save(tmp_path / "f16")
    for name in ("vqvae.safetensors", "prior.safetensors"):
        ratio = (tmp_path / "f16" / name).stat().st_size / (tmp_path / "f32" / name).stat().st_size
        assert 0.45 < ratio < 0.6, (name, ratio)
    loaded = load_bundle(tmp_path / "f16")
    assert loaded.weights_dtype == "float16" and load_bundle(tmp_path / "f32").weights_dtype == "float32"
    for mine, theirs in ((bundle.vqvae, loaded.vqvae), (bundle.prior, loaded.prior)):
        a, b = mine.state_dict(), theirs.state_dict()
        for key in a:
            assert b[key].dtype == a[key].dtype, key                     # computes in float32
            expected = a[key].half().to(a[key].dtype) if a[key].is_floating_point() else a[key]
            if key.endswith("ema_counts"):
                expected = a[key]
            assert torch.equal(b[key], expected), key
    loaded.save(tmp_path / "again")                                      # a re-save keeps the choice
    assert json.loads((tmp_path / "again" / "config.json").read_text())["weights_dtype"] == "float16"
    assert snapshot(tmp_path / "again")["prior.safetensors"] == snapshot(tmp_path / "f16")["prior.safetensors"]
    bundle.weights_dtype = "int8"
    with pytest.raises(BundleError, match="weights_dtype"):
        bundle.save(tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


# ---------------------------------------------------------------------------------- corrupt folders
def _edit_config(path: Path, edit) -> None:
    cfg = json.loads((path / "config.json").read_text())
    edit(cfg)
    (path / "config.json").write_text(json.dumps(cfg))


def _truncate(file: Path, keep: int) -> None:
    file.write_bytes(file.read_bytes()[:keep])


def _nan_weights(path: Path) -> None:
    from safetensors.torch import load_file, save_file
    state = load_file(str(path / "vqvae.safetensors"))
    key = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 1)
    state[key][0] = float("nan")
    save_file(state, str(path / "vqvae.safetensors"))


CORRUPTIONS = {
    "missing config.json": (lambda p: (p / "config.json").unlink(), "config.json is missing"),
    "missing weights": (lambda p: (p / "vqvae.safetensors").unlink(), "missing"),
    "missing prior weights": (lambda p: (p / "prior.safetensors").unlink(), "missing"),
    "truncated weights": (lambda p: _truncate(p / "vqvae.safetensors", 300), "truncated or corrupt"),
    "weights header only": (lambda p: _truncate(p / "vqvae.safetensors", 8), "truncated or corrupt"),
    "empty weights": (lambda p: _truncate(p / "prior.safetensors", 0), "truncated or corrupt"),
    "garbage config.json": (lambda p: (p / "config.json").write_bytes(b"\x00{not json at all"), "not valid JSON"),
    "config.json is a list": (lambda p: (p / "config.json").write_text("[1, 2]"), "unknown format"),
    "unknown version": (lambda p: _edit_config(p, lambda c: c.update(version=99)), "version 99"),
    "unknown format": (lambda p: _edit_config(p, lambda c: c.update(format="zip")), "unknown format"),
    "config K differs from weights": (
        lambda p: _edit_config(p, lambda c: (c["vqvae"]["config"].update(num_codes=32),
                                             c["prior"]["config"].update(num_codes=32))),
        "do not match config.json"),
    "prior K differs from VQ-VAE": (
        lambda p: _edit_config(p, lambda c: c["prior"]["config"].update(num_codes=8)), "K=8"),
    "unknown config field": (
        lambda p: _edit_config(p, lambda c: c["vqvae"]["config"].update(colour="red")), "invalid model"),
    "wrongly typed config value": (
        lambda p: _edit_config(p, lambda c: c["vqvae"]["config"].update(hidden_channels="wide")), "invalid"),
    "absurd model size": (
        lambda p: _edit_config(p, lambda c: c["vqvae"]["config"].update(hidden_channels=60000)),
        "hidden_channels"),
    "weights outside the folder": (
        lambda p: _edit_config(p, lambda c: c["vqvae"].update(weights="../x.safetensors")), "inside the bundle"),
    "unknown weights dtype": (lambda p: _edit_config(p, lambda c: c.update(weights_dtype="int4")), "int4"),
    "history not an object": (lambda p: _edit_config(p, lambda c: c.update(history="abc")), "must be an object"),
    "corrupt examples": (lambda p: (p / "examples.npz").write_bytes(b"PK\x03\x04junk"), "examples"),
    "NaN in weights": (_nan_weights, "NaN"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corrupt_bundle_raises_bundle_error(saved: Path, case: str) -> None:
    corrupt, expected = CORRUPTIONS[case]
    good = load_bundle(saved)
    corrupt(saved)
    before = snapshot(saved)
    with pytest.raises(BundleError) as info:
        load_bundle(saved)
    assert expected in str(info.value)
    assert_plain(info.value)
    assert snapshot(saved) == before                     # loading never modifies the folder
    assert torch.isfinite(good.vqvae.codebook).all()     # an already-loaded bundle is unaffected


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="No bundle folder"):
        load_bundle(tmp_path / "nowhere")


class RunsCode:
    """Unpickling this calls os.system: the attack a .pt weights file could carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("container", ["torch.save", "raw pickle"])
def test_pickle_weights_never_run_code(saved: Path, tmp_path: Path, container: str) -> None:
    marker = tmp_path / "MARKER"
    payload = {"encoder.net.0.weight": RunsCode(marker)}
    if container == "torch.save":
        torch.save(payload, saved / "vqvae.pt")
    else:
        (saved / "vqvae.pt").write_bytes(pickle.dumps(payload))
    _edit_config(saved, lambda c: c["vqvae"].update(weights="vqvae.pt"))
    with pytest.raises(BundleError, match="refused") as info:
        load_bundle(saved)
    assert_plain(info.value)
    assert not marker.exists()


def test_plain_pt_weights_are_accepted(saved: Path) -> None:
    good = load_bundle(saved)
    torch.save(good.vqvae.state_dict(), saved / "vqvae.pt")
    _edit_config(saved, lambda c: c["vqvae"].update(weights="vqvae.pt"))
    (saved / "vqvae.safetensors").unlink()
    loaded = load_bundle(saved)
    for key, value in good.vqvae.state_dict().items():
        assert torch.equal(loaded.vqvae.state_dict()[key], value)


# ---------------------------------------------------------------------------------- atomic saves
def test_save_replaces_an_existing_bundle(saved: Path) -> None:
    newer = make_bundle(with_prior=False, seed=1)
    newer.examples = None
    newer.history = {"steps": 99}
    (saved / "MODEL_CARD.md").write_text("kept across re-saves")
    newer.save(saved)
    loaded = load_bundle(saved)
    assert loaded.prior is None and loaded.examples is None and loaded.history == {"steps": 99}
    assert not (saved / "prior.safetensors").exists() and not (saved / "examples.npz").exists()
    # The card described the bundle replaced here: kept word for word, quoted as the earlier card.
    assert earlier_card((saved / "MODEL_CARD.md").read_text()).strip() == "kept across re-saves"
    for key, value in newer.vqvae.state_dict().items():
        assert torch.equal(loaded.vqvae.state_dict()[key], value)
    assert leftovers(saved.parent) == []


@pytest.mark.parametrize("target", ["safetensors-second-file", "savez"])
def test_failed_save_leaves_previous_bundle_intact(saved: Path, monkeypatch, target: str) -> None:
    before = snapshot(saved)
    if target == "savez":
        def broken(*args, **kwargs):
            raise OSError("disk full (simulated)")
        monkeypatch.setattr(np, "savez_compressed", broken)
    else:
        import safetensors.torch
        real, calls = safetensors.torch.save_file, []

        def broken(tensors, filename, *args, **kwargs):
            calls.append(filename)
            if len(calls) == 2:                     # the VQ-VAE file is written, then the prior fails
                raise OSError("disk full (simulated)")
            return real(tensors, filename, *args, **kwargs)
        monkeypatch.setattr(safetensors.torch, "save_file", broken)
    with pytest.raises(OSError, match="simulated"):
        make_bundle(seed=3).save(saved)
    assert snapshot(saved) == before
    assert leftovers(saved.parent) == []
    load_bundle(saved)


def test_save_refuses_to_replace_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(BundleError, match="not a model bundle"):
        make_bundle().save(precious)
    assert (precious / "thesis.txt").read_text() == "years of work"
    empty = tmp_path / "empty"
    empty.mkdir()
    make_bundle().save(empty)                      # an empty folder is fine
    load_bundle(empty)


def test_examples_survive_copying_the_folder(saved: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(saved, copy)
    loaded = load_bundle(copy)
    assert loaded.path == copy.resolve() and loaded.name == "tiny"
    assert torch.equal(loaded.examples.labels, torch.tensor([3, 1, 4, 1, 5]))
