"""The quantizer lab's core generator and the compare-quantizers command (tiny runs)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from explorer.cli import main
from explorer.cli.compare_quantizers import METHOD_NAMES
from explorer.cli.parser import QUANTIZER_KINDS as CLI_KINDS
from explorer.core.data import DataSplits, ImageSet
from explorer.core.models.quantizers_extra import QUANTIZER_KINDS
from explorer.core.models.vqvae import VQVAEConfig
from explorer.core.quantizer_lab import (METHODS, PRESETS, STOP, LabConfig, bits_per_image, parse_methods, run_lab)


def blob_data(n: int = 160, seed: int = 0) -> DataSplits:
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    for i in range(n):                                  # a bright square somewhere: structure to learn
        r, c = torch.randint(0, 20, (2,), generator=g).tolist()
        images[i, 0, r:r + 8, c:c + 8] = 255
    labels = torch.full((n,), -1, dtype=torch.long)
    return DataSplits(train=ImageSet(images[:120], labels[:120]), val=ImageSet(images[120:], labels[120:]))


def tiny_lab(**kw) -> LabConfig:
    base = dict(num_codes=16, steps=4, batch_size=16, code_dim=4, hidden_channels=8, res_channels=4,
                snapshot_every=2, probe_images=8, eval_images=40)
    return LabConfig(**{**base, **kw})


def test_the_cli_and_parser_copies_of_the_names_agree_with_the_core() -> None:
    assert METHOD_NAMES == tuple(METHODS)
    assert CLI_KINDS == QUANTIZER_KINDS
    assert all(set(methods) <= set(METHODS) for methods in PRESETS.values())
    assert set(VQVAEConfig.LIMITS["quantizer"].choices) == set(QUANTIZER_KINDS)


def test_every_method_builds_a_model_of_the_same_architecture_and_k() -> None:
    cfg = tiny_lab(methods=tuple(METHODS)[:2])
    for name in METHODS:
        model_cfg = cfg.model_config(name, (1, 28, 28))
        assert model_cfg.num_codes == 16 and model_cfg.hidden_channels == 8 and model_cfg.grid_size == 7


def test_parse_methods_refuses_unknown_and_repeated_names() -> None:
    assert parse_methods("vq, fsq") == ("vq", "fsq")
    for bad in ("vq,nope", "vq,vq", ""):
        with pytest.raises(ValueError):
            parse_methods(bad)


def test_a_run_yields_every_step_then_held_out_results_and_models() -> None:
    cfg = tiny_lab(methods=("vq", "fsq", "gumbel"))
    records = list(run_lab(cfg, blob_data()))
    assert [r.step for r in records] == [1, 2, 3, 4]
    assert all(len(r.metrics) == 3 for r in records)
    assert records[0].snapshots is not None and records[1].snapshots is not None and records[2].snapshots is None
    last = records[-1]
    assert last.results is not None and [r.method for r in last.results] == ["vq", "fsq", "gumbel"]
    for result in last.results:
        assert 0 <= result.mse < 1 and 1 <= result.codes_used <= 16
        assert result.dead_codes == 16 - result.codes_used
        assert math.isclose(result.bits_per_image, 49 * 4)
        assert result.seconds > 0 and math.isclose(result.seconds_per_step, result.seconds / 4)
    snap = last.snapshots[0]
    assert snap.counts.shape == (16,) and snap.counts.sum() == 8 * 49
    assert snap.map.codes_xy.shape == (16, 2) and snap.map.points_xy.shape[1] == 2
    assert set(last.models) == {"vq", "fsq", "gumbel"} and not last.models["vq"].training
    assert len(last.examples) == 40


def test_same_seed_same_batches_same_results() -> None:
    cfg = tiny_lab(methods=("kmeans-restarts", "rotation"), snapshot_every=0)
    first = [r.as_json() for r in list(run_lab(cfg, blob_data()))[-1].results]
    second = [r.as_json() for r in list(run_lab(cfg, blob_data()))[-1].results]
    for a, b in zip(first, second):
        assert a["codes_used"] == b["codes_used"]
        assert np.isclose(a["mse"], b["mse"], rtol=1e-4)


def test_methods_start_from_the_same_encoder_and_decoder() -> None:
    cfg = tiny_lab(methods=("vq", "ema"), steps=1)
    models = list(run_lab(cfg, blob_data()))[-1].models
    # after one step the weights differ only by that step: before it, by nothing (same seed)
    a, b = models["vq"].decoder.state_dict(), models["ema"].decoder.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=0.05) for k in a)


def test_stop_ends_early_with_results_of_what_was_trained() -> None:
    gen = run_lab(tiny_lab(methods=("vq", "fsq"), steps=50), blob_data())
    first = next(gen)
    assert first.results is None
    final = gen.send(STOP)
    assert final.stopped and final.step == 1 and final.results is not None and final.models is not None
    with pytest.raises(StopIteration):
        next(gen)


def test_bits_per_image_is_cells_times_log2_k() -> None:
    assert bits_per_image(VQVAEConfig(num_codes=64)) == 49 * 6
    assert bits_per_image(VQVAEConfig(num_codes=512)) == 49 * 9


def test_compare_quantizers_prints_one_json_list(mnist_root, capsys) -> None:
    code = main(["compare-quantizers", "--methods", "vq,fsq", "--num-codes", "16", "--steps", "3",
                 "--batch-size", "16", "--data", "mnist", "--data-root", str(mnist_root), "--limit", "300",
                 "--holdout-last", "50", "--eval-images", "50", "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in rows] == ["vq", "fsq"]
    for r in rows:
        assert {"method", "mse", "codes_used", "perplexity", "dead_codes", "seconds"} <= set(r)
        assert r["codes_used"] + r["dead_codes"] == 16


@pytest.mark.parametrize("argv,words", [
    (["--methods", "vq,nope"], "unknown method"),
    (["--methods", "vq,vq"], "each once"),
    (["--num-codes", "1"], "--num-codes"),
    (["--steps", "0"], "--steps"),
])
def test_compare_quantizers_refuses_bad_flags_in_one_line(argv, words, capsys) -> None:
    assert main(["compare-quantizers", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["fsq", "factorised", "rotation"])
def test_train_vqvae_quantizer_flag_trains_a_full_model_of_that_kind(kind, mnist_root, tmp_path, capsys) -> None:
    out = tmp_path / kind
    code = main(["train", "vqvae", "--data-root", str(mnist_root), "--out", str(out), "--examples", "0",
                 "--quantizer", kind, "--limit", "300", "--max-steps", "2", "--batch-size", "16", "--device", "cpu",
                 "--hidden", "16", "--res-channels", "8", "--res-blocks", "1", "--num-codes", "16",
                 "--code-dim", "4"])
    assert code == 0, capsys.readouterr().err
    from explorer.core.bundle import load_bundle
    model = load_bundle(out).vqvae
    assert model.config.quantizer == kind
    assert model.encode(torch.rand(2, 1, 28, 28)).shape == (2, 7, 7)


def test_train_vqvae_refuses_an_unknown_quantizer_in_one_line(capsys) -> None:
    assert main(["train", "vqvae", "--out", "x", "--quantizer", "magic"]) == 2
    err = capsys.readouterr().err
    assert "--quantizer" in err and len(err.strip().splitlines()) == 1
