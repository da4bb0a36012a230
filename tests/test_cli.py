"""The command line, run in-process through main([...]) on the shared MNIST digits."""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

import explorer.cli.train as cli_train
from explorer.__main__ import main
from explorer.core.bundle import BundleError, load_bundle

REPO = Path(__file__).resolve().parents[1]
SUBCOMMANDS = ("gui", "train", "sample", "evaluate", "ensemble", "screenshot")
TINY_VQ = ["--hidden", "16", "--res-channels", "8", "--res-blocks", "1", "--num-codes", "16", "--code-dim", "4"]
TINY_PRIOR = ["--channels", "16", "--layers", "2", "--head-channels", "16", "--augment-shifts", "0"]
QUICK = ["--limit", "600", "--max-steps", "5", "--batch-size", "16", "--device", "cpu"]


def run(*argv: str) -> tuple[int, str, str]:
    """main(argv) in-process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_plain_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("error: ")
    assert len(err.strip().splitlines()) <= 2
    for needle in needles:
        assert needle in err, err


@pytest.fixture(scope="module")
def trained(mnist_root: Path, tmp_path_factory) -> dict:
    """train vqvae, then train prior into the same bundle; keeps both runs' output."""
    os.environ.pop("WORLD_SIZE", None)
    path = tmp_path_factory.mktemp("runs") / "tiny"
    vq = run("train", "vqvae", "--data", "mnist", "--data-root", str(mnist_root), "--out", str(path),
             "--examples", "20", "--val-every", "3", *QUICK, *TINY_VQ,
             "--max-steps", "20", "--warmup-steps", "1")   # enough steps for the decoder to draw ink
    assert vq[0] == 0, vq[2]
    vq_state = {k: v.clone() for k, v in load_bundle(path).vqvae.state_dict().items()}
    prior = run("train", "prior", "--bundle", str(path), "--max-steps", "5", "--batch-size", "16",
                "--device", "cpu", *TINY_PRIOR)
    assert prior[0] == 0, prior[2]
    return {"path": path, "vq": vq, "prior": prior, "vq_state": vq_state, "root": mnist_root}


# ---------------------------------------------------------------------------------- help
def test_help_lists_every_subcommand_without_importing_qt() -> None:
    proc = subprocess.run([sys.executable, "-m", "explorer", "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    for name in SUBCOMMANDS:
        assert f"\n    {name}" in proc.stdout, name
    code, out, _ = run("train", "--help")
    assert code == 0 and "vqvae" in out and "prior" in out
    probe = ("import sys; from explorer.__main__ import main; main(['evaluate', '--bundle', 'nowhere']); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt')))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.stdout.strip() == "[]" and "No bundle folder" in proc.stderr


def test_usage_errors_exit_2() -> None:
    code, _, err = run("train", "vqvae")                    # --out missing
    assert code == 2 and "--out" in err
    code, _, err = run("train", "vqvae", "--out", "x", "--classes", "4-1")
    assert code == 2 and "backwards" in err


# ---------------------------------------------------------------------------------- train
def test_train_vqvae_progress_and_bundle(trained: dict) -> None:
    code, out, err = trained["vq"]
    assert "\r" in err and err.endswith("\n") and "Traceback" not in err
    bar = err.split("\r")[-1]
    for field in ("20/20", "recon", "codebook", "commit", "ppl", "codes", "img/s", "ETA"):
        assert field in bar, field
    assert "step 3/20: validation MSE" in err and "step 20/20: validation MSE" in err
    assert out.startswith("Saved ") and "validation MSE" in out
    bundle = load_bundle(trained["path"])
    history = bundle.history
    assert history["command"].startswith("python -m explorer train vqvae --data mnist")
    assert history["steps"] == 20 and history["seconds"] > 0 and history["images_per_s"] > 0
    assert history["device"].startswith("cpu") and "T" in history["finished"]
    assert bundle.data["name"] == "mnist" and bundle.data["limit"] == 600
    assert bundle.data["root"] == str(trained["root"])
    assert bundle.vqvae.config.num_codes == 16 and bundle.vqvae.config.hidden_channels == 16
    assert bundle.metrics["mse"] > 0
    assert 0 < bundle.metrics["codes_used"] <= 1 and math.isfinite(bundle.metrics["perplexity"])
    assert len(bundle.examples) == 20


def test_train_prior_saves_into_the_same_bundle(trained: dict) -> None:
    code, out, err = trained["prior"]
    bar = err.split("\r")[-1]
    for field in ("5/5", "loss", "nats/latent", "val NLL", "acc", "ETA"):
        assert field in bar, field
    assert out.startswith("Saved the prior into")
    bundle = load_bundle(trained["path"])
    assert bundle.prior is not None and bundle.prior.config.channels == 16
    assert bundle.prior.config.num_codes == 16 and bundle.prior.config.num_classes == 0
    for key in ("mse", "perplexity", "codes_used", "prior_nll", "prior_accuracy"):
        assert math.isfinite(bundle.metrics[key]), key
    assert 1.0 < bundle.metrics["prior_nll"] < 4.0
    assert bundle.history["steps"] == 20 and bundle.history["prior"]["steps"] == 5
    assert "train prior" in bundle.history["prior"]["command"]
    for key, value in trained["vq_state"].items():                  # the VQ-VAE was kept bit-exactly
        assert torch.equal(bundle.vqvae.state_dict()[key], value), key
    assert [p.name for p in trained["path"].parent.iterdir()] == ["tiny"]


def test_class_conditional_prior_into_another_bundle(trained: dict, tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in trained["path"].iterdir()}
    other = tmp_path / "conditional"
    code, _, err = run("train", "prior", "--bundle", str(trained["path"]), "--out", str(other),
                       "--class-conditional", "--max-steps", "2", "--batch-size", "16", "--device", "cpu",
                       *TINY_PRIOR)
    assert code == 0, err
    assert {p.name: p.read_bytes() for p in trained["path"].iterdir()} == before
    assert load_bundle(other).prior.config.num_classes == 10
    png = tmp_path / "three.png"
    code, _, err = run("sample", "--bundle", str(other), "--n", "4", "--label", "3", "--out", str(png))
    assert code == 0 and png.is_file(), err
    assert_plain_error(*run("sample", "--bundle", str(other), "--label", "42", "--out", str(png))[::2], "--label")


def test_resume_continues_the_same_model(trained: dict, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    code, _, err = run("train", "vqvae", "--resume", str(trained["path"]), "--out", str(out),
                       "--max-steps", "2", "--batch-size", "16", "--device", "cpu", "--num-codes", "64")
    assert code == 0, err
    assert "ignored --num-codes" in err and "prior was left out" in err
    bundle = load_bundle(out)
    assert bundle.vqvae.config.num_codes == 16 and bundle.prior is None
    assert bundle.data["limit"] == 600                                  # the resumed bundle's data settings
    assert bundle.history["resumed_from"]["history"]["steps"] == 20


def test_resume_prior_continues_the_bundles_prior(trained: dict, tmp_path: Path) -> None:
    start = load_bundle(trained["path"]).prior.state_dict()
    out = tmp_path / "prior-resumed"
    code, _, err = run("train", "prior", "--bundle", str(trained["path"]), "--out", str(out), "--resume-prior",
                       "--max-steps", "1", "--lr", "1e-12", "--warmup-steps", "1", "--batch-size", "16",
                       "--device", "cpu", "--channels", "32",          # architecture flags are ignored
                       "--dropout", "0.3")                              # the training dropout is not
    assert code == 0, err
    bundle = load_bundle(out)
    assert bundle.prior.config.channels == 16                           # the bundle's prior, not a new one
    assert bundle.prior.config.dropout == 0.3
    assert {m.p for m in bundle.prior.modules() if isinstance(m, torch.nn.Dropout)} == {0.3}
    for name, value in bundle.prior.state_dict().items():                # one step at lr 1e-12: weights kept
        torch.testing.assert_close(value, start[name], rtol=0, atol=1e-6)
    assert bundle.history["prior"]["resumed_from"]["steps"] == 5
    no_prior = tmp_path / "vq-only"
    run("train", "vqvae", "--resume", str(trained["path"]), "--out", str(no_prior), "--max-steps", "1",
        "--batch-size", "16", "--device", "cpu")
    assert_plain_error(*run("train", "prior", "--bundle", str(no_prior), "--resume-prior", "--max-steps", "1",
                            "--device", "cpu")[::2], "--resume-prior")


def test_ctrl_c_stops_training_and_saves(mnist_root: Path, tmp_path: Path, monkeypatch) -> None:
    real = cli_train.train_vqvae

    def interrupted_after_two(*args, **kwargs):
        for step in real(*args, **kwargs):
            yield step
            if step.step == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr(cli_train, "train_vqvae", interrupted_after_two)
    out = tmp_path / "stopped"
    code, _, err = run("train", "vqvae", "--data-root", str(mnist_root), "--out", str(out), *QUICK, *TINY_VQ)
    assert code == 130 and "Interrupted at step 2 of 5" in err and "saving" in err
    bundle = load_bundle(out)
    assert bundle.history["steps"] == 2 and bundle.history["interrupted"] is True


def test_nan_loss_is_a_plain_error(mnist_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "diverged"
    code, _, err = run("train", "vqvae", "--data-root", str(mnist_root), "--out", str(out), "--lr", "10",
                       "--warmup-steps", "1", *QUICK, *TINY_VQ)
    assert code == 2 and "Traceback" not in err and "not finite" in err
    if out.exists():                                                    # saved only if still finite
        load_bundle(out)
    else:
        assert "nothing was saved" in err


# ---------------------------------------------------------------------------------- sample, evaluate
@pytest.mark.parametrize("n, nrow, size", [(10, 4, (4 * 30 + 2, 3 * 30 + 2)), (3, 8, (3 * 30 + 2, 32)),
                                           (64, 8, (242, 242))])
def test_sample_writes_a_png_grid(trained: dict, tmp_path: Path, n: int, nrow: int, size: tuple) -> None:
    png = tmp_path / "sub" / "grid.png"
    code, out, err = run("sample", "--bundle", str(trained["path"]), "--n", str(n), "--nrow", str(nrow),
                         "--out", str(png), "--seed", "7")
    assert code == 0, err
    with Image.open(png) as image:
        assert image.format == "PNG" and image.mode == "L" and image.size == size
        assert image.getextrema()[1] > 0                                # decoded digits, not a blank grid
    again = tmp_path / "again.png"
    assert run("sample", "--bundle", str(trained["path"]), "--n", str(n), "--nrow", str(nrow),
               "--out", str(again), "--seed", "7")[0] == 0
    assert again.read_bytes() == png.read_bytes()                       # same seed, same samples
    assert "49/49" in err and "sampling" in err                        # progress: one step per grid position


def test_evaluate_prints_json(trained: dict) -> None:
    code, out, err = run("evaluate", "--bundle", str(trained["path"]), "--device", "cpu")
    assert code == 0, err
    report = json.loads(out)
    for key in ("mse", "perplexity", "codes_used", "codes_used_count", "prior_nll", "prior_accuracy"):
        assert math.isfinite(report[key]), key
    assert report["n_images"] == 60 and report["num_codes"] == 16 and "mnist" in report["data"]
    assert 0 < report["codes_used"] <= 1 and report["codes_used_count"] == round(report["codes_used"] * 16)
    assert report["mse"] == pytest.approx(load_bundle(trained["path"]).metrics["mse"])
    assert "reconstructing 60 held-out images" in err and "2/2" in err      # progress on stderr
    code, out, _ = run("evaluate", "--bundle", str(trained["path"]), "--device", "cpu", "--holdout-last", "100",
                       "--classes", "1-4")
    report = json.loads(out)
    assert code == 0 and 0 < report["n_images"] < 100 and "classes 1,2,3,4" in report["data"]


def test_ensemble_mixes_two_priors_over_one_vqvae(trained: dict, tmp_path: Path) -> None:
    second = tmp_path / "second"
    code, _, err = run("train", "prior", "--bundle", str(trained["path"]), "--out", str(second), "--seed", "1",
                       "--max-steps", "5", "--batch-size", "16", "--device", "cpu", *TINY_PRIOR)
    assert code == 0, err
    both = tmp_path / "both"
    code, out, err = run("ensemble", "--bundle", str(trained["path"]), "--bundle", str(second), "--out", str(both),
                         "--weights-dtype", "float16")
    assert code == 0, err
    assert out.startswith(f"Saved {both}: an ensemble of 2 gated priors")
    bundle = load_bundle(both)
    assert bundle.prior.config.members == 2 and bundle.weights_dtype == "float16"
    members = [m["prior_nll"] for m in bundle.history["prior"]["ensemble_of"]]
    assert members == [pytest.approx(load_bundle(p).metrics["prior_nll"], abs=1e-6)
                       for p in (trained["path"], second)]
    assert bundle.metrics["prior_nll"] < sum(members) / 2                    # Jensen, strictly here
    assert "ensemble" in bundle.history["prior"]["command"]
    code, out, err = run("evaluate", "--bundle", str(both), "--device", "cpu")
    assert code == 0, err
    assert json.loads(out)["prior_nll"] == pytest.approx(bundle.metrics["prior_nll"], abs=1e-3)  # float16 weights

    other_vq = tmp_path / "other-vq"
    run("train", "vqvae", "--resume", str(trained["path"]), "--out", str(other_vq), "--max-steps", "1",
        "--batch-size", "16", "--device", "cpu")
    run("train", "prior", "--bundle", str(other_vq), "--max-steps", "1", "--batch-size", "16", "--device", "cpu",
        *TINY_PRIOR)
    assert_plain_error(*run("ensemble", "--bundle", str(trained["path"]), "--bundle", str(other_vq),
                            "--out", str(tmp_path / "x"))[::2], "another VQ-VAE")
    assert_plain_error(*run("ensemble", "--bundle", str(second), "--out", str(tmp_path / "x"))[::2], "two")
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------------- user errors
def test_tau_rate_flag_sets_the_gumbel_annealing(mnist_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "gumbel"
    code, _, err = run("train", "vqvae", "--data-root", str(mnist_root), "--out", str(out), "--examples", "0",
                       "--quantizer", "gumbel", "--tau-rate", "0.05", *QUICK, *TINY_VQ, "--max-steps", "3")
    assert code == 0, err
    model = load_bundle(out).vqvae
    assert model.config.quantizer == "gumbel" and model.config.tau_rate == 0.05
    model.train()
    model.set_step(20)                                   # tau = max(0.1, exp(-0.05 * 20)) = exp(-1)
    assert model.quantizer.tau == pytest.approx(math.exp(-1.0))
    assert_plain_error(*run("train", "vqvae", "--data-root", str(mnist_root), "--out", str(tmp_path / "n"),
                            "--quantizer", "gumbel", "--tau-rate", "-1", *QUICK)[::2], "--tau-rate")


def test_missing_data_root_is_a_plain_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    code, _, err = run("train", "vqvae", "--data-root", str(missing), "--out", str(tmp_path / "x"), *QUICK)
    assert_plain_error(code, err, str(missing))
    assert not (tmp_path / "x").exists()


def test_corrupt_bundle_is_a_plain_error(trained: dict, tmp_path: Path) -> None:
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(trained["path"], broken)
    (broken / "prior.safetensors").write_bytes(b"\x10\x00\x00\x00junk")
    with pytest.raises(BundleError) as info:
        load_bundle(broken)
    code, _, err = run("sample", "--bundle", str(broken), "--out", str(tmp_path / "g.png"))
    assert_plain_error(code, err, str(info.value))
    assert not (tmp_path / "g.png").exists()


def test_other_user_errors(trained: dict, tmp_path: Path) -> None:
    path = str(trained["path"])
    assert_plain_error(*run("evaluate", "--bundle", path, "--device", "tpu")[::2], "Unknown device")
    assert_plain_error(*run("train", "prior", "--bundle", path, "--device", "tpu")[::2], "Unknown device")
    assert_plain_error(*run("sample", "--bundle", str(tmp_path / "none"), "--out", "g.png")[::2], "No bundle")
    no_prior = tmp_path / "no-prior"
    bundle = load_bundle(path)
    bundle.prior = None
    bundle.save(no_prior)
    assert_plain_error(*run("sample", "--bundle", str(no_prior), "--out", str(tmp_path / "g.png"))[::2],
                       "has no prior")
    assert_plain_error(*run("evaluate", "--bundle", path, "--classes", "11")[::2], "Class filter")
    assert_plain_error(*run("screenshot", "--panel", "codebook", "--out", "x.png", "--size", "big")[::2], "--size")
    code, _, err = run("train", "vqvae", "--data-root", str(trained["root"]), "--out", str(tmp_path / "d"),
                       "--downsample", "8", *QUICK)
    assert_plain_error(code, err, "multiple of downsample")


# ---------------------------------------------------------------------------------- checked before any work
def _no_work(monkeypatch) -> None:
    """Make loading data or training fail loudly: a refused command must stop before either."""
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")
    for name in ("load_data", "train_vqvae", "train_prior", "load_bundle"):
        monkeypatch.setattr(cli_train, name, forbidden)
    import explorer.cli.inspect as cli_inspect
    monkeypatch.setattr(cli_inspect, "load_bundle", forbidden)
    # `ensemble` imports load_bundle when it runs; were its --out not checked first, loading the
    # bundles "a" and "b" would fail with another message than the one the test asks for.


def test_out_is_checked_before_loading_data_or_training(tmp_path: Path, monkeypatch) -> None:
    _no_work(monkeypatch)
    existing_file = tmp_path / "results.txt"
    existing_file.write_text("keep")
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "thesis.tex").write_text("keep")
    (folder / "config.json").write_text("{}")
    for out, needle in ((existing_file, "is a file"), (folder, "not a model bundle"),
                        (existing_file / "sub", "not a folder")):
        assert_plain_error(*run("train", "vqvae", "--out", str(out), *QUICK)[::2], needle)
        assert_plain_error(*run("train", "prior", "--bundle", str(tmp_path / "b"), "--out", str(out))[::2], needle)
        assert_plain_error(*run("ensemble", "--bundle", "a", "--bundle", "b", "--out", str(out))[::2], needle)
    assert_plain_error(*run("train", "prior", "--bundle", str(folder))[::2], "not a model bundle")
    png_folder = tmp_path / "grid.png"
    png_folder.mkdir()
    assert_plain_error(*run("sample", "--bundle", "b", "--out", str(png_folder))[::2], "is a folder")
    assert_plain_error(*run("sample", "--bundle", "b", "--out", str(existing_file / "g.png"))[::2], "not a folder")
    assert_plain_error(*run("screenshot", "--panel", "codebook", "--out", str(png_folder))[::2], "is a folder")
    assert existing_file.read_text() == "keep" and (folder / "thesis.tex").read_text() == "keep"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_out_is_refused_before_training(tmp_path: Path, monkeypatch) -> None:
    _no_work(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert_plain_error(*run("train", "vqvae", "--out", str(locked / "m"), *QUICK)[::2], "not writable")
    finally:
        locked.chmod(0o700)


BAD_FLAGS = [
    ("train", "vqvae", "--out", "x", "--epochs", "nan"), ("train", "vqvae", "--out", "x", "--epochs", "inf"),
    ("train", "vqvae", "--out", "x", "--lr", "nan"), ("train", "vqvae", "--out", "x", "--seed", str(2 ** 70)),
    ("train", "vqvae", "--out", "x", "--num-codes", "70000"),
    ("train", "vqvae", "--out", "x", "--res-blocks", "65536"),
    ("train", "vqvae", "--out", "x", "--encoder-res-blocks", "-2"), ("train", "vqvae", "--out", "x", "--hidden", "0"),
    ("train", "vqvae", "--out", "x", "--image-size", "100000"),
    ("train", "vqvae", "--out", "x", "--examples", "9999999"),
    ("train", "vqvae", "--out", "x", "--max-steps", "1e3"), ("train", "vqvae", "--out", "x", "--beta", "-inf"),
    ("train", "vqvae", "--out", "x", "--holdout-last", "-1"),
    ("train", "vqvae", "--out", "x", "--val-fraction", "1.5"),
    ("train", "vqvae", "--out", "x", "--limit", "1" + "0" * 5000),
    ("train", "prior", "--bundle", "b", "--kernel-size", "4"), ("train", "prior", "--bundle", "b", "--dropout", "2"),
    ("train", "prior", "--bundle", "b", "--augment-shifts", "1000"),
    ("train", "prior", "--bundle", "b", "--layers", "0"), ("train", "prior", "--bundle", "b", "--channels", "100000"),
    ("train", "prior", "--bundle", "b", "--batch-size", "0"),
    ("sample", "--bundle", "b", "--out", "g.png", "--n", "1000000000"),
    ("sample", "--bundle", "b", "--out", "g.png", "--padding", "100000"),
    ("sample", "--bundle", "b", "--out", "g.png", "--temperature", "inf"),
    ("sample", "--bundle", "b", "--out", "g.png", "--seed", "-1"),
    ("sample", "--bundle", "b", "--out", "g.png", "--top-k", "0"),
]


@pytest.mark.parametrize("argv", BAD_FLAGS, ids=lambda a: " ".join(a[:2] + a[-2:])[:60])
def test_out_of_range_flags_are_one_line_usage_errors(argv, monkeypatch) -> None:
    _no_work(monkeypatch)
    code, _, err = run(*argv)
    assert code == 2 and "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith(f"error: argument {argv[-2]}"), err


def test_train_flags_accept_every_value_the_loader_accepts(mnist_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    code, _, err = run("train", "vqvae", "--data-root", str(mnist_root), "--out", str(out), *QUICK, *TINY_VQ,
                       "--max-steps", "2", "--encoder-res-blocks", "-1", "--seed", str(2 ** 63 - 1),
                       "--num-codes", "8192", "--code-dim", "2")
    assert code == 0, err
    assert load_bundle(out).vqvae.config.encoder_res_blocks == -1


def test_sample_refuses_a_grid_too_large_to_draw(tmp_path: Path) -> None:
    from explorer.core.bundle import Bundle
    from explorer.core.models.prior import PriorConfig, build_prior
    from explorer.core.models.vqvae import VQVAE, VQVAEConfig
    vqvae = VQVAE(VQVAEConfig(image_size=256, downsample=8, hidden_channels=4, res_channels=2, res_blocks=0,
                              num_codes=4, code_dim=2))
    prior = build_prior(PriorConfig(num_codes=4, height=32, width=32, channels=2, layers=1, head_channels=2))
    Bundle(vqvae=vqvae, prior=prior, name="big").save(tmp_path / "big")
    code, _, err = run("sample", "--bundle", str(tmp_path / "big"), "--out", str(tmp_path / "g.png"), "--n", "1024")
    assert_plain_error(code, err, "lower --n")
    assert not (tmp_path / "g.png").exists()


# ---------------------------------------------------------------------------------- gui, screenshot
def test_gui_and_screenshot_hand_over_to_the_ui(monkeypatch, tmp_path: Path, trained: dict) -> None:
    """The CLI passes its arguments on to run_app / render_panel (stand-ins here: no Qt in this test)."""
    import types
    calls: list[tuple] = []
    app = types.ModuleType("explorer.ui.app")
    app.run_app = lambda bundle_path=None: calls.append(("run_app", bundle_path)) or 0
    shot = types.ModuleType("explorer.ui.screenshot")

    def render_panel(name, out, bundle_path=None, size=(1280, 800), presentation=False, help_dialog=False):
        if name == "nope":
            raise ValueError("unknown panel 'nope'; choose one of trainPanel")
        calls.append(("render_panel", name, out, bundle_path, size, presentation, help_dialog))
    shot.render_panel = render_panel
    monkeypatch.setitem(sys.modules, "explorer.ui.app", app)
    monkeypatch.setitem(sys.modules, "explorer.ui.screenshot", shot)
    assert run()[0] == 0 and run("gui", "--bundle", str(trained["path"]))[0] == 0
    assert calls == [("run_app", None), ("run_app", str(trained["path"]))]
    out = str(tmp_path / "shots" / "train.png")
    code, stdout, err = run("screenshot", "--panel", "trainPanel", "--out", out, "--size", "640x480")
    assert code == 0, err
    assert calls[-1] == ("render_panel", "trainPanel", out, None, (640, 480), False, False)
    code, stdout, err = run("screenshot", "--panel", "trainPanel", "--out", out, "--presentation", "--help-dialog")
    assert code == 0, err
    assert calls[-1] == ("render_panel", "trainPanel", out, None, (1280, 800), True, True)
    assert_plain_error(*run("screenshot", "--panel", "nope", "--out", out)[::2], "unknown panel")
    assert_plain_error(*run("gui", "--bundle", str(tmp_path / "missing"))[::2], "No bundle folder")


def test_progress_bar_redraws_at_most_five_times_a_second(monkeypatch) -> None:
    import explorer.cli.common as common
    clock = [100.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: clock[0])
    stream = io.StringIO()
    bar = common.ProgressBar(stream=stream)
    for step in range(1, 101):                 # 100 steps in one simulated second
        bar.update(step, 100, f"loss {1 / step:.4f}", eta_s=(100 - step) / 100)
        clock[0] += 0.01
    bar.finish()
    text = stream.getvalue()
    assert 5 <= text.count("\r") <= 7                      # ~5 redraws plus the final step
    assert text.endswith("\n") and text.count("\n") == 1
    assert text.split("\r")[-1].startswith("100/100 [####################] loss 0.0100 | ETA 0:00")
    bar = common.ProgressBar(stream=io.StringIO(), enabled=False)
    bar.update(1, 1, "x", 0.0)
    bar.note("hidden")
    assert bar.stream.getvalue() == ""


def test_help_answers_without_importing_torch_or_qt() -> None:
    """`--help` (of the program and of every command) needs neither torch nor Qt: it answers at once."""
    script = (
        "import runpy, sys\n"
        "sys.argv = ['explorer'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('explorer', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules), file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for command in ([], ["train", "vqvae"], ["train", "prior"], ["sample"], ["evaluate"], ["ensemble"]):
        done = subprocess.run([sys.executable, "-c", script, *command, "--help"], capture_output=True, text=True,
                              timeout=120, env=env)
        assert "usage:" in done.stdout, (command, done.stderr)
        assert done.stderr.strip().splitlines()[-1] == "[]", (command, done.stderr)


def test_gui_says_in_one_line_what_is_missing_instead_of_qts_abort() -> None:
    from explorer.ui.platform_check import platform_problem
    everything = lambda soname: True                                   # noqa: E731
    no_cursor = lambda soname: soname != "libxcb-cursor.so.0"          # noqa: E731
    assert platform_problem({"DISPLAY": ":0"}, "linux", everything) is None
    problem = platform_problem({"DISPLAY": ":0"}, "linux", no_cursor)
    assert "libxcb-cursor0" in problem and "apt-get install" in problem and "\n" not in problem
    assert "DISPLAY" in platform_problem({}, "linux", everything)
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", no_cursor) is None
    assert platform_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", no_cursor) is None
    assert platform_problem({}, "win32", no_cursor) is None
