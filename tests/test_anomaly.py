"""Likelihood maps and anomaly scores (explorer.core.anomaly): the maths, without Qt."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.core.anomaly import (adaptive_code_bits, auroc, complexity_score, least_likely, likelihoods, midranks,
                                   png_code_bits, png_image_bits, position_nll, rates_at, ratio_score, roc_curve,
                                   same_vqvae, score_images)
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.models.vqvae import VQVAE, VQVAEConfig
from prior_helpers import randomize_positional_biases

# Normal scores and anomalous scores with ties inside and across the sets.
IN = [1.0, 2.0, 2.0, 3.0]
OUT = [2.0, 3.0, 4.0]
# By hand, counting each (out, in) pair: out > in scores 1, a tie 1/2.
#   out 2: beats 1, ties 2 and 2, loses to 3     -> 1 + 0.5 + 0.5 = 2
#   out 3: beats 1, 2, 2, ties 3                 -> 3.5
#   out 4: beats all four                        -> 4
HAND_AUROC = (2 + 3.5 + 4) / (4 * 3)


def _prior(seed: int = 0):
    torch.manual_seed(seed)
    prior = build_prior(PriorConfig(num_codes=8, height=4, width=5, channels=16, layers=2, head_channels=16))
    with torch.no_grad():
        prior.head2.weight.mul_(3.0)
    randomize_positional_biases(prior, seed)
    return prior.eval()


def test_auroc_with_ties_equals_the_hand_computed_value() -> None:
    assert auroc(IN, OUT) == pytest.approx(HAND_AUROC)            # 0.7917
    assert auroc(OUT, IN) == pytest.approx(1 - HAND_AUROC)         # swapping the sets mirrors it


def test_auroc_extremes_and_all_ties() -> None:
    assert auroc([0, 1, 2], [3, 4]) == 1.0
    assert auroc([3, 4], [0, 1, 2]) == 0.0
    assert auroc([5, 5, 5], [5, 5]) == 0.5


def test_midranks_share_the_mean_rank() -> None:
    assert midranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])).tolist() == [4.0, 1.0, 4.0, 2.0, 4.0]


def test_roc_curve_runs_from_origin_to_one_and_its_area_is_the_auroc() -> None:
    roc = roc_curve(IN, OUT)
    assert (roc.fpr[0], roc.tpr[0]) == (0.0, 0.0)
    assert (roc.fpr[-1], roc.tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(roc.fpr) >= 0) and np.all(np.diff(roc.tpr) >= 0)
    assert roc.auc == pytest.approx(HAND_AUROC)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 40).astype(float), rng.integers(1, 7, 30).astype(float)   # many ties
    roc = roc_curve(a, b)
    trapezoids = float(np.sum(np.diff(roc.fpr) * (roc.tpr[1:] + roc.tpr[:-1]) / 2))
    assert trapezoids == pytest.approx(auroc(a, b)) and roc.auc == auroc(a, b)   # the plot and table agree


def test_rates_at_a_threshold_flag_scores_at_or_above_it() -> None:
    # threshold 3: anomalies 3 and 4 flagged (2 of 3), normal 3 flagged (1 of 4)
    assert rates_at(IN, OUT, 3.0) == (pytest.approx(2 / 3), pytest.approx(1 / 4))
    assert rates_at(IN, OUT, -math.inf) == (1.0, 1.0)
    assert rates_at(IN, OUT, math.inf) == (0.0, 0.0)


def test_empty_or_non_finite_sets_are_refused() -> None:
    with pytest.raises(ValueError):
        auroc([], [1.0])
    with pytest.raises(ValueError):
        auroc([1.0, float("nan")], [2.0])


def test_position_map_sums_to_the_exact_nll() -> None:
    prior = _prior()
    codes = torch.randint(0, 8, (6, 4, 5), generator=torch.Generator().manual_seed(1))
    per_position = position_nll(prior, codes, batch_size=4)                  # two batches
    assert per_position.shape == (6, 4, 5)
    assert np.all(per_position > 0)
    with torch.no_grad():
        total = -prior.log_prob(codes).double().numpy()
    np.testing.assert_allclose(per_position.sum(axis=(1, 2)), total, rtol=1e-5)


def test_each_position_is_the_conditional_of_that_code_given_the_codes_before() -> None:
    prior = _prior()
    codes = torch.randint(0, 8, (1, 4, 5), generator=torch.Generator().manual_seed(2))
    changed = codes.clone()
    changed[0, 3, 4] = (codes[0, 3, 4] + 1) % 8           # the last position: no other term may move
    a, b = position_nll(prior, codes)[0], position_nll(prior, changed)[0]
    assert np.array_equal(a.ravel()[:-1], b.ravel()[:-1])
    assert a[3, 4] != b[3, 4]


def test_scores_are_higher_for_what_the_prior_finds_less_likely() -> None:
    prior = _prior()
    likely = torch.zeros(1, 4, 5, dtype=torch.long)
    for _ in range(20):                                   # greedy fixed point: each code the most likely
        likely = prior.logits(likely).argmax(1).detach()
    unlikely = prior.logits(likely).argmin(1).detach()
    nll = position_nll(prior, torch.cat([likely, unlikely])).sum(axis=(1, 2))
    assert nll[1] > nll[0]
    assert complexity_score(nll, np.zeros(2))[1] > complexity_score(nll, np.zeros(2))[0]
    # ratio: the same in-distribution NLL is more anomalous when the background finds it likelier
    assert ratio_score([10.0, 10.0], [4.0, 8.0]).tolist() == [6.0, 2.0]
    assert np.all(ratio_score(nll, nll) == 0.0)
    # complexity: the same NLL is more anomalous when the input is simpler (compresses better)
    assert complexity_score([10.0, 10.0], [20.0, 5.0])[1] > complexity_score([10.0, 10.0], [20.0, 5.0])[0]
    assert complexity_score([math.log(2) * 8], [3.0])[0] == pytest.approx(5.0)
    assert least_likely(np.array([0.5, 3.0, 1.0, 3.0]), 3).tolist() == [1, 3, 2]


def test_compressors_charge_more_for_varied_grids() -> None:
    constant = np.zeros((1, 7, 7), dtype=np.int64)
    varied = np.arange(49).reshape(1, 7, 7) % 16
    bits = adaptive_code_bits(np.concatenate([constant, varied]), 16)
    assert bits[0] < bits[1]
    # one symbol of K = 2 costs exactly 1 bit at first: -log2 (0 + 1/2) / (0 + 1)
    assert adaptive_code_bits(np.zeros((1, 1, 1), dtype=np.int64), 2)[0] == pytest.approx(1.0)
    assert png_code_bits(constant)[0] < png_code_bits(varied)[0]
    flat = torch.zeros(1, 1, 28, 28)
    noise = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert png_image_bits(flat)[0] < png_image_bits(noise)[0]


def test_score_images_gives_every_score_and_ratio_zero_against_itself() -> None:
    torch.manual_seed(0)
    vqvae = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=8, code_dim=4)).eval()
    prior = build_prior(PriorConfig(num_codes=8, height=7, width=7, channels=16, layers=2, head_channels=16)).eval()
    images = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    scored = score_images(vqvae, prior, images, background_prior=prior)
    assert set(scored.scores) == {"nll", "ratio", "complexity"}
    np.testing.assert_allclose(scored.scores["ratio"], 0.0, atol=1e-9)
    lik = likelihoods(vqvae, prior, images)
    np.testing.assert_allclose(scored.scores["nll"], lik.nll)
    np.testing.assert_allclose(lik.bits, lik.nll / math.log(2))
    assert "ratio" not in score_images(vqvae, prior, images).scores
    assert same_vqvae(vqvae, vqvae)
    other = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=8, code_dim=4)).eval()
    assert not same_vqvae(vqvae, other)


def test_one_image_report_matches_the_batch_scores_and_heatmap_covers_the_image() -> None:
    from explorer.core.anomaly import image_likelihood
    from explorer.core.anomaly_sets import heatmap_rgb
    torch.manual_seed(0)
    vqvae = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=8, code_dim=4)).eval()
    prior = build_prior(PriorConfig(num_codes=8, height=7, width=7, channels=16, layers=2, head_channels=16)).eval()
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    one = image_likelihood(vqvae, prior, images[1])
    batch = score_images(vqvae, prior, images)
    assert one.nll == pytest.approx(batch.scores["nll"][1], rel=1e-6)
    assert one.bits == pytest.approx(one.nll / math.log(2))
    assert one.codes.shape == one.position_nll.shape == (7, 7) and one.decoded.shape == (1, 28, 28)
    rgb = heatmap_rgb(one.decoded, one.position_nll, vmax=math.log(8))
    assert rgb.shape == (28, 28, 3) and rgb.dtype == np.uint8
    hot = np.zeros((7, 7)); hot[2, 3] = 10.0                     # one very surprising cell: its 4x4 pixels are red
    tinted = heatmap_rgb(np.zeros((1, 28, 28)), hot, vmax=1.0)
    assert tinted[8:12, 12:16, 0].min() > 100 and tinted[:8, :, 0].max() == 0


def test_class_sets_split_held_out_images_by_the_priors_classes() -> None:
    from explorer.core.anomaly_sets import class_sets, describe_classes, prior_classes
    from explorer.core.data import ImageSet
    labels = torch.tensor([1, 5, 2, 7, 5, 4, 0])
    data = ImageSet(torch.zeros(7, 1, 28, 28, dtype=torch.uint8), labels)
    assert prior_classes({"prior": {"data": {"classes": [4, 1, 2, 3]}}}) == (1, 2, 3, 4)
    assert prior_classes({}) is None
    assert describe_classes((1, 2, 3, 4)) == "1–4" and describe_classes((0, 5, 6, 7)) == "0, 5–7"
    sets = class_sets(data, (1, 2, 3, 4), "validation")
    assert sets["in"].labels.tolist() == [1, 2, 4]
    assert sets["others"].labels.tolist() == [5, 7, 5, 0]
    assert sets["class:5"].labels.tolist() == [5, 5] and sets["class:5"].names[0] == "validation #1 (label 5)"
    assert set(class_sets(data, None, "v")) == {"in"}


def test_shifted_moves_pixels_and_fills_zeros() -> None:
    from explorer.core.anomaly import shifted
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    down_right = shifted(x, 1, 1)
    assert torch.equal(down_right[0, 0, 1:, 1:], x[0, 0, :-1, :-1])
    assert down_right[0, 0, 0].abs().sum() == 0 and down_right[0, 0, :, 0].abs().sum() == 0
    assert torch.equal(shifted(x, -1, 0)[0, 0, :-1], x[0, 0, 1:]) and shifted(x, -1, 0)[0, 0, -1].sum() == 0
    assert torch.equal(shifted(x, 0, 0), x)


def test_shift_averaged_scores_are_the_mean_over_the_shifted_copies() -> None:
    from explorer.core.anomaly import shifted
    torch.manual_seed(0)
    vqvae = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=8, code_dim=4)).eval()
    prior = build_prior(PriorConfig(num_codes=8, height=7, width=7, channels=16, layers=2, head_channels=16)).eval()
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    averaged = score_images(vqvae, prior, images, shifts=1)
    copies = [score_images(vqvae, prior, shifted(images, dy, dx)).scores["nll"]
              for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    np.testing.assert_allclose(averaged.scores["nll"], np.mean(copies, axis=0), rtol=1e-9)
    np.testing.assert_allclose(averaged.likelihoods.nll, score_images(vqvae, prior, images).scores["nll"])


def test_folder_subset_reads_images_as_the_model_sees_them(tmp_path) -> None:
    from PIL import Image

    from explorer.core.anomaly_sets import folder_subset
    from explorer.core.data import DataError
    (tmp_path / "a").mkdir()
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(tmp_path / "big.png")       # resized, made grey
    Image.fromarray(np.full((28, 28), 255, dtype=np.uint8)).save(tmp_path / "a" / "white.png")
    sub = folder_subset(str(tmp_path), image_size=28, channels=1)
    assert sub.images.shape == (2, 1, 28, 28) and sub.images.dtype == np.uint8
    assert sub.names == ["big.png", "a/white.png"] and sub.labels.tolist() == [-1, 0]
    with pytest.raises(DataError):
        folder_subset(str(tmp_path / "missing"), 28, 1)


# --------------------------------------------------------------------------------------
# Class-conditional priors: NLL given the label, and marginalised over classes
# --------------------------------------------------------------------------------------
def _conditional_models(classes: int = 3):
    torch.manual_seed(0)
    vqvae = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=8, code_dim=4)).eval()
    prior = build_prior(PriorConfig(kind="gated", num_codes=8, height=7, width=7, channels=16, layers=2,
                                    head_channels=16, num_classes=classes)).eval()
    with torch.no_grad():                                    # make the classes differ a lot
        for name, param in prior.named_parameters():
            if "class_" in name:
                param.normal_(0, 2.0, generator=torch.Generator().manual_seed(7))
    return vqvae, prior


def test_marginal_nll_is_the_logsumexp_over_classes_and_the_posterior_sums_to_one() -> None:
    from explorer.core.class_likelihood import class_posterior, log_class_prior, marginal_nll
    class_nll = np.array([[10.0, 12.0, 30.0], [5.0, 5.0, 5.0]])
    uniform = log_class_prior(3)
    by_hand = -np.log(np.exp(-class_nll).mean(axis=1))
    np.testing.assert_allclose(marginal_nll(class_nll, uniform), by_hand)
    assert marginal_nll(class_nll, uniform)[1] == pytest.approx(5.0)     # equal classes: log 3 - log 3 cancels
    skewed = log_class_prior(3, np.array([1.0, 0.0, 0.0]))                 # every image is class 0
    np.testing.assert_allclose(marginal_nll(class_nll, skewed), class_nll[:, 0])
    post = class_posterior(class_nll, uniform)
    np.testing.assert_allclose(post.sum(axis=1), 1.0)
    assert post[0].argmax() == 0 and post[0, 0] == pytest.approx(1 / (1 + math.exp(-2) + math.exp(-20)))


def test_a_conditional_prior_scores_with_and_without_labels() -> None:
    """Regression (issue 20): a class-conditional bundle raised "pass labels" and the panel stayed blank."""
    from explorer.core.class_likelihood import log_class_prior, marginal_nll
    vqvae, prior = _conditional_models()
    images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    labels = np.array([0, 2, 1, 2])
    unlabelled = score_images(vqvae, prior, images)                        # a user's files: no label
    assert set(unlabelled.scores) == {"nll", "complexity"}
    lik = unlabelled.likelihoods
    codes = torch.from_numpy(lik.codes)
    with torch.no_grad():
        exact = np.stack([-prior.log_prob(codes, torch.full((4,), c)).double().numpy() for c in range(3)], axis=1)
    np.testing.assert_allclose(lik.class_nll, exact, rtol=1e-5)
    np.testing.assert_allclose(unlabelled.scores["nll"], marginal_nll(exact, log_class_prior(3)), rtol=1e-5)
    assert np.all(unlabelled.scores["nll"] <= exact.min(axis=1) + math.log(3) + 1e-6)   # logsumexp bounds
    np.testing.assert_array_equal(lik.map_labels, exact.argmin(axis=1))    # the map: the most probable class
    labelled = score_images(vqvae, prior, images, labels=labels, background_prior=prior)
    np.testing.assert_allclose(labelled.scores["nll-label"], exact[np.arange(4), labels], rtol=1e-5)
    np.testing.assert_allclose(labelled.scores["nll"], unlabelled.scores["nll"])   # the marginal needs no label
    np.testing.assert_allclose(labelled.scores["ratio"], 0.0, atol=1e-9)
    np.testing.assert_allclose(labelled.likelihoods.position_nll.sum(axis=(1, 2)), exact[np.arange(4), labels],
                               rtol=1e-5)
    partly = score_images(vqvae, prior, images, labels=np.array([0, -1, 1, 2]))
    assert "nll-label" not in partly.scores                               # not every image has a label
    from explorer.core.anomaly import image_likelihood
    one = image_likelihood(vqvae, prior, images[1], label=2)
    assert one.map_label == 2 and one.label == 2 and one.nll == pytest.approx(exact[1, 2], rel=1e-5)
    assert one.scores["nll-label"] == pytest.approx(exact[1, 2], rel=1e-5)
    free = image_likelihood(vqvae, prior, images[1])
    assert free.label == -1 and free.map_label == int(exact[1].argmin()) and "nll-label" not in free.scores


# --------------------------------------------------------------------------------------
# The combined score (DoSE) and the far sets
# --------------------------------------------------------------------------------------
def _fixture_scores(rng, n: int, ratio_shift: float = 0.0, complexity_shift: float = 0.0) -> dict:
    ratio = rng.normal(ratio_shift, 1.0, n)
    return {"ratio": ratio, "complexity": 0.5 * ratio + rng.normal(complexity_shift, 1.0, n),
            "nll": rng.normal(0, 1, n)}


def test_the_combined_score_flags_near_and_far_outliers_that_one_score_misses() -> None:
    from explorer.core.combined_score import combine_sets, cross_fitted, fit_combined
    rng = np.random.default_rng(0)
    normal = _fixture_scores(rng, 400)
    near = _fixture_scores(rng, 100, ratio_shift=4.0)              # the ratio sees it (a held-out 5)
    far = _fixture_scores(rng, 100, ratio_shift=-3.0, complexity_shift=6.0)   # the ratio cancels: looks normal
    low = _fixture_scores(rng, 100, ratio_shift=-5.0, complexity_shift=-5.0)  # too typical on both (blank)
    assert auroc(normal["ratio"], far["ratio"]) < 0.1 and auroc(normal["ratio"], low["ratio"]) < 0.1
    combined_in, combined = combine_sets(normal, {"near": near, "far": far, "low": low})
    for key in ("near", "far", "low"):
        assert auroc(combined_in, combined[key]) > 0.95, key
    fit = fit_combined(normal)
    assert fit.parts == ("ratio", "complexity")
    assert fit_combined({"nll": normal["nll"], "complexity": normal["complexity"]}).parts == ("nll", "complexity")
    # cross-fitting: each half of the normal set is scored by the density of the other half only
    order = np.random.default_rng(0).permutation(400)
    first, second = order[:200], order[200:]
    half = fit_combined({k: v[second] for k, v in normal.items()}).score({k: v[first] for k, v in normal.items()})
    np.testing.assert_allclose(cross_fitted(normal)[first], half)
    # the density is highest at the centre of the normal set and falls off on every side
    centre = fit.score({"ratio": np.array([normal["ratio"].mean()]),
                        "complexity": np.array([normal["complexity"].mean()])})[0]
    for dr, dc in ((5, 0), (-5, 0), (0, 5), (0, -5)):
        assert fit.score({"ratio": np.array([normal["ratio"].mean() + dr]),
                          "complexity": np.array([normal["complexity"].mean() + dc])})[0] > centre + 3
    with pytest.raises(ValueError, match="at least"):
        fit_combined({"ratio": np.zeros(3), "complexity": np.zeros(3)})
    with pytest.raises(ValueError, match="ratio"):
        fit.score({"nll": np.zeros(2), "complexity": np.zeros(2)})


def test_far_sets_are_built_from_what_is_at_hand_and_are_deterministic(tmp_path) -> None:
    from explorer.core.far_sets import FAR_KINDS, far_images, far_sets
    rng = np.random.default_rng(0)
    reference = np.zeros((6, 1, 28, 28), dtype=np.uint8)
    reference[:, :, 4:24, 12:16] = rng.integers(150, 256, (6, 1, 20, 4))           # a "1" each
    sets = far_sets(reference, n=10, data_root=str(tmp_path))                       # no Fashion-MNIST there
    assert list(sets) == [f"far:{k}" for k in FAR_KINDS]
    for key, subset in sets.items():
        assert subset.images.shape == (10, 1, 28, 28) and subset.images.dtype == np.uint8, key
        assert (subset.labels == -1).all() and len(subset.names) == 10 and subset.title.startswith("far: ")
    assert np.array_equal(far_images("letters", reference, 5, seed=1), far_images("letters", reference, 5, seed=1))
    assert sets["far:blank"].images.max() < 25 and sets["far:saturated"].images.min() > 230
    assert np.isin(255 - sets["far:inverted"].images, reference).all()
    rotated = sets["far:rotated"].images
    assert rotated[:, :, 12:16, 4:24].mean() > 100 and rotated[:, :, 4:24, 12:16].mean() < rotated.mean() + 60
    letters = sets["far:letters"].images
    assert (letters.reshape(10, -1).max(axis=1) > 200).all()                        # every glyph has ink
    assert (letters[:, :, :2].max() < 60) and letters.reshape(10, -1).mean(axis=1).max() < 128   # white on black
    with pytest.raises(ValueError):
        far_images("plaid", reference, 3)


def test_the_advice_recommends_the_best_worst_case_and_names_far_failures() -> None:
    from explorer.core.anomaly_report import Column, advice_lines, auroc_table, far_failures, recommended
    rng = np.random.default_rng(1)
    normal = {"nll": rng.normal(0, 1, 200), "ratio": rng.normal(0, 1, 200)}
    near = {"nll": rng.normal(1, 1, 100), "ratio": rng.normal(4, 1, 100)}
    far = {"nll": rng.normal(6, 1, 100), "ratio": rng.normal(-4, 1, 100)}          # the ratio cancels out here
    columns = [Column("class:5", "5s", False), Column("far:noise", "noise", True), Column("far:x", "x", True)]
    table = auroc_table(normal, {"class:5": near, "far:noise": far}, columns, ["nll", "ratio"])
    assert table.get("ratio", "class:5") == pytest.approx(auroc(normal["ratio"], near["ratio"]))
    assert table.get("nll", "far:x") is None and "far:x" not in table.scored and "far:noise" in table.scored
    assert recommended(table) is None                        # a set still missing: no advice yet
    columns = columns[:2]
    table = auroc_table(normal, {"class:5": near, "far:noise": far}, columns, ["nll", "ratio"])
    kind, worst = recommended(table)
    assert kind == "nll" and worst == pytest.approx(table.get("nll", "class:5"))   # its worst beats the ratio's
    assert list(far_failures(table)) == ["ratio"]
    lines = advice_lines(table)
    assert lines[0].startswith("Recommended: NLL") and "likelihood ratio (noise 0.00)" in lines[1]
