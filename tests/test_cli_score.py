"""``python -m explorer score``: one JSON list of {name, score} per image, higher = more anomalous."""
from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.__main__ import main
from explorer.core.anomaly import adaptive_code_bits, likelihoods
from explorer.core.bundle import Bundle
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.vqvae import VQVAE, VQVAEConfig


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(code: int, err: str, needle: str) -> None:
    assert code != 0
    assert "Traceback" not in err and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def _bundle(path: Path, seed: int, vq_seed: int = 0) -> Path:
    torch.manual_seed(vq_seed)
    vqvae = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=8, code_dim=4)).eval()
    torch.manual_seed(seed)
    prior = build_prior(PriorConfig(num_codes=8, channels=16, layers=2, head_channels=16)).eval()
    with torch.no_grad():
        prior.head2.weight.mul_(3.0)
    Bundle(vqvae=vqvae, prior=prior, name=path.name).save(path)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("score")
    rng = np.random.default_rng(0)
    images = (rng.random((3, 28, 28)) ** 3 * 255).astype(np.uint8)
    folder = root / "digits"
    (folder / "sub").mkdir(parents=True)
    paths = [root / "a.png", folder / "b.png", folder / "sub" / "c.png"]
    for path, image in zip(paths, images):
        Image.fromarray(image).save(path)
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return {"root": root, "images": images, "folder": folder, "a": paths[0],
            "in": _bundle(root / "in", seed=1), "bg": _bundle(root / "bg", seed=2),
            "other_vq": _bundle(root / "other", seed=2, vq_seed=5)}


def test_nll_scores_files_and_folders_and_match_the_core(setup) -> None:
    code, out, err = run("score", str(setup["a"]), str(setup["folder"]), "--bundle", str(setup["in"]),
                         "--method", "nll", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["name"] for r in rows] == [str(setup["a"]), "digits/b.png", "digits/sub/c.png"]
    from explorer.core.bundle import load_bundle
    bundle = load_bundle(setup["in"])
    lik = likelihoods(bundle.vqvae, bundle.prior, torch.from_numpy(setup["images"][:, None]))
    np.testing.assert_allclose([r["score"] for r in rows], lik.nll, rtol=1e-5)
    assert all(r["score"] > 0 for r in rows)                 # -log p(z): positive, higher = less likely


def test_ratio_against_itself_is_zero_and_against_a_background_is_the_difference(setup) -> None:
    code, out, _ = run("score", str(setup["folder"]), "--bundle", str(setup["in"]), "--method", "ratio",
                       "--background", str(setup["in"]), "--json")
    assert code == 0 and all(abs(r["score"]) < 1e-5 for r in json.loads(out))
    nll_in = json.loads(run("score", str(setup["folder"]), "--bundle", str(setup["in"]), "--json")[1])
    nll_bg = json.loads(run("score", str(setup["folder"]), "--bundle", str(setup["bg"]), "--json")[1])
    code, out, _ = run("score", str(setup["folder"]), "--bundle", str(setup["in"]), "--method", "ratio",
                       "--background", str(setup["bg"]), "--json")
    ratio = [r["score"] for r in json.loads(out)]
    np.testing.assert_allclose(ratio, [a["score"] - b["score"] for a, b in zip(nll_in, nll_bg)], atol=1e-5)


def test_complexity_is_nll_bits_minus_the_compressed_length(setup) -> None:
    nll = json.loads(run("score", str(setup["a"]), "--bundle", str(setup["in"]), "--json")[1])[0]["score"]
    code, out, _ = run("score", str(setup["a"]), "--bundle", str(setup["in"]), "--method", "complexity", "--json")
    from explorer.core.bundle import load_bundle
    bundle = load_bundle(setup["in"])
    codes = likelihoods(bundle.vqvae, bundle.prior, torch.from_numpy(setup["images"][:1, None])).codes
    expected = nll / math.log(2) - adaptive_code_bits(codes, 8)[0]
    assert code == 0 and json.loads(out)[0]["score"] == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("extra,needle", [
    (["--method", "ratio"], "needs --background"),
    (["--method", "nll", "--background", "BG"], "only used with --method ratio"),
    (["--method", "ratio", "--background", "OTHER"], "different VQ-VAE"),
])
def test_bad_method_options_give_one_line(setup, extra, needle) -> None:
    extra = [str(setup["bg"]) if e == "BG" else str(setup["other_vq"]) if e == "OTHER" else e for e in extra]
    code, out, err = run("score", str(setup["a"]), "--bundle", str(setup["in"]), *extra)
    assert out == ""
    assert_one_line_error(code, err, needle)


def test_missing_corrupt_and_empty_inputs_give_one_line(setup, tmp_path) -> None:
    assert_one_line_error(*run("score", str(tmp_path / "nope.png"), "--bundle", str(setup["in"]))[::2],
                          "no such file")
    assert_one_line_error(*run("score", str(setup["root"] / "broken.png"), "--bundle", str(setup["in"]))[::2],
                          "broken.png")
    assert_one_line_error(*run("score", str(tmp_path), "--bundle", str(setup["in"]))[::2], "no images")
    assert_one_line_error(*run("score", str(setup["a"]), "--bundle", str(tmp_path))[::2], "")


def test_shift_averaging_is_the_cores_and_bad_values_are_refused(setup) -> None:
    from explorer.core.anomaly import score_images
    from explorer.core.bundle import load_bundle
    code, out, err = run("score", str(setup["a"]), "--bundle", str(setup["in"]), "--shifts", "1", "--json")
    assert code == 0, err
    bundle = load_bundle(setup["in"])
    expected = score_images(bundle.vqvae, bundle.prior, torch.from_numpy(setup["images"][:1, None]), shifts=1)
    assert json.loads(out)[0]["score"] == pytest.approx(float(expected.scores["nll"][0]), abs=1e-5)
    assert_one_line_error(*run("score", str(setup["a"]), "--bundle", str(setup["in"]), "--shifts", "9")[::2],
                          "--shifts")


def test_the_cli_copies_of_the_score_names_match_the_core() -> None:
    from explorer.cli import score
    from explorer.core import anomaly
    from explorer.core.data import formats
    assert score.SCORE_KINDS == anomaly.SCORE_KINDS and score.COMPRESSORS == anomaly.COMPRESSORS
    assert score.IMAGE_EXTENSIONS == formats.IMAGE_EXTENSIONS


def _conditional_bundle(path: Path) -> Path:
    from explorer.core.data import ImageSet
    torch.manual_seed(0)
    vqvae = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=8, code_dim=4)).eval()
    prior = build_prior(PriorConfig(kind="gated", num_codes=8, channels=16, layers=2, head_channels=16,
                                    num_classes=3)).eval()
    rng = np.random.default_rng(1)
    examples = ImageSet(torch.from_numpy((rng.random((12, 1, 28, 28)) ** 3 * 255).astype(np.uint8)),
                        torch.arange(12) % 3)
    Bundle(vqvae=vqvae, prior=prior, name=path.name, examples=examples,
           history={"prior": {"data": {"classes": [0, 1, 2]}}}).save(path)
    return path


def test_a_class_conditional_bundle_scores_marginalised_or_given_a_label(setup) -> None:
    """Regression (issue 20): `score --bundle mnist-classes` printed a 39-line traceback."""
    from explorer.core.bundle import load_bundle
    from explorer.core.class_likelihood import log_class_prior, marginal_nll
    path = _conditional_bundle(setup["root"] / "conditional")
    code, out, err = run("score", str(setup["folder"]), "--bundle", str(path))
    assert code == 0 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and "class-marginalised" in err and "uniform p(c)" in err
    bundle = load_bundle(path)
    codes = likelihoods(bundle.vqvae, bundle.prior, torch.from_numpy(setup["images"][1:, None])).codes
    with torch.no_grad():
        per_class = np.stack([-bundle.prior.log_prob(torch.from_numpy(codes), torch.full((2,), c)).double().numpy()
                              for c in range(3)], axis=1)
    np.testing.assert_allclose([r["score"] for r in json.loads(out)], marginal_nll(per_class, log_class_prior(3)),
                               rtol=1e-5)
    code, out, err = run("score", str(setup["folder"]), "--bundle", str(path), "--method", "nll-label",
                         "--label", "2")
    assert code == 0 and "given class 2" in err
    np.testing.assert_allclose([r["score"] for r in json.loads(out)], per_class[:, 2], rtol=1e-5)
    for extra, needle in ((["--method", "nll-label"], "needs --label"), (["--label", "7"], "between 0 and 2"),
                          (["--label", "1"], "only used with --method nll-label")):
        assert_one_line_error(*run("score", str(setup["a"]), "--bundle", str(path), *extra)[::2], needle)
    assert_one_line_error(*run("score", str(setup["a"]), "--bundle", str(setup["in"]), "--label", "1")[::2],
                          "not class-conditional")


def test_the_combined_score_is_fitted_on_the_bundles_normal_images(setup) -> None:
    from explorer.core.anomaly import score_images
    from explorer.core.bundle import load_bundle
    from explorer.core.combined_score import fit_combined
    path = _conditional_bundle(setup["root"] / "conditional2")
    code, out, err = run("score", str(setup["folder"]), "--bundle", str(path), "--method", "combined")
    assert code == 0, err
    assert "fitted on the bundle's 12 example images of 0–2" in err and "nll and complexity" in err
    bundle = load_bundle(path)
    fit = fit_combined(score_images(bundle.vqvae, bundle.prior, bundle.examples.images).scores)
    expected = fit.score(score_images(bundle.vqvae, bundle.prior, torch.from_numpy(setup["images"][1:, None])).scores)
    np.testing.assert_allclose([r["score"] for r in json.loads(out)], expected, rtol=1e-6)
