"""The Gumbel-Softmax playground's maths (explorer.core.gumbel_lab), checked against autograd and scipy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.core import gumbel_lab as lab
from explorer.core.models.gumbel import gumbel_softmax
from explorer.core.models.quantizers import gumbel_temperature
from explorer.core.models.vqvae import VQVAEConfig

NOTES = np.array(lab.NOTES_LOGITS)


def test_soft_sample_matches_core_gumbel_softmax_with_the_same_noise():
    g = lab.gumbel_noise(3, seed=4)
    for tau in (1.0, 0.5, 0.1):
        y = lab.playground_view(NOTES, g, tau).soft_sample
        ref = gumbel_softmax(torch.tensor(NOTES), tau, noise=torch.tensor(g)).numpy()
        np.testing.assert_allclose(y, ref, atol=1e-12)


def test_noise_is_reproducible_from_its_seed():
    np.testing.assert_array_equal(lab.gumbel_noise((5, 4), 7), lab.gumbel_noise((5, 4), 7))
    assert not np.array_equal(lab.gumbel_noise(4, 7), lab.gumbel_noise(4, 8))


@pytest.mark.parametrize("k", [2, 3, 10])
def test_lambda_001_is_one_hot_to_1e3_and_finite_everywhere(k):
    rng = np.random.default_rng(k)
    logits = rng.normal(0, 3, k)
    for seed in range(20):
        g = lab.gumbel_noise(k, seed)
        view = lab.playground_view(logits, g, 0.01)
        for arr in (view.softmax, view.soft_sample, view.hard_sample, view.noise):
            assert np.isfinite(arr).all()
        gap = np.sort(logits + g)[-1] - np.sort(logits + g)[-2]
        if gap > 0.1:                      # ties closer than 0.1 are not one-hot at lambda = 0.01 (by design)
            np.testing.assert_allclose(view.soft_sample, view.hard_sample, atol=1e-3)
    # extreme logits and the smallest temperature: still no NaN or inf in any computation
    wild = np.array([300.0, -300.0] + [0.0] * (k - 2))
    for arr in (lab.softmax(wild, 0.01), lab.temperature_curves(wild, [0.01, 10.0], draws=50).expected_entropy,
                lab.estimator_stats(wild, np.eye(k)[0], [0.01], draws=50).variance["soft relaxation"],
                lab.straight_through(wild, lab.gumbel_noise(k, 0), 0.01, np.ones(k)).gradient):
        assert np.isfinite(arr).all()


def test_notes_example_sharpens_as_lambda_falls():
    g = lab.gumbel_noise(3, 0)
    maxes = [lab.playground_view(NOTES, g, t).soft_sample.max() for t in (1.0, 0.5, 0.1, 0.01)]
    assert maxes == sorted(maxes)
    view = lab.playground_view(NOTES, g, 10.0)
    assert np.abs(view.softmax - 1 / 3).max() < 0.06           # lambda -> inf: uniform


def test_chi2_sf_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for dof in range(1, 10):
        for x in (0.01, 0.5, 2.0, 7.3, 20.0, 80.0):
            assert math.isclose(lab.chi2_sf(x, dof), stats.chi2.sf(x, dof), rel_tol=1e-9, abs_tol=1e-15)


def test_gumbel_max_histogram_passes_chi_square_at_a_fixed_seed():
    check = lab.gumbel_max_check(NOTES, draws=10_000, seed=0)
    assert check.counts.sum() == 10_000 and check.dof == 2
    assert check.p_value > 0.05                                   # measured: p = 0.328 at seed 0
    np.testing.assert_allclose(check.frequencies, lab.softmax(NOTES), atol=0.015)
    # a wrong reference (softmax at lambda = 0.5) is rejected by the same test
    wrong = lab.chi2_sf(float((((check.counts - 1e4 * lab.softmax(NOTES, 0.5)) ** 2)
                               / (1e4 * lab.softmax(NOTES, 0.5))).sum()), 2)
    assert wrong < 1e-6


def test_straight_through_gradient_equals_the_soft_samples_gradient():
    torch.manual_seed(0)
    logits = torch.randn(6, dtype=torch.float64)
    noise = lab.gumbel_noise(6, 3)
    upstream = torch.randn(6, dtype=torch.float64)
    grads = {}
    for hard in (False, True):
        x = logits.clone().requires_grad_(True)
        y = gumbel_softmax(x, 0.3, hard=hard, noise=torch.tensor(noise))
        (upstream * y).sum().backward()
        grads[hard] = x.grad.numpy()
        if hard:
            np.testing.assert_array_equal(y.detach().numpy(), lab.one_hot_argmax(logits.numpy() + noise))
    np.testing.assert_allclose(grads[True], grads[False], atol=1e-12)
    st = lab.straight_through(logits.numpy(), noise, 0.3, upstream.numpy())
    np.testing.assert_allclose(st.gradient, grads[True], atol=1e-12)
    np.testing.assert_array_equal(st.forward, lab.one_hot_argmax(logits.numpy() + noise))


@pytest.mark.parametrize("k", [2, 5, 10])
def test_enumerated_exact_gradient_matches_autograd_on_the_expectation(k):
    rng = np.random.default_rng(k)
    logits = torch.tensor(rng.normal(size=k), requires_grad=True)
    target = torch.tensor(rng.uniform(size=k))
    eye = torch.eye(k, dtype=torch.float64)
    expectation = (torch.softmax(logits, 0) * ((eye - target) ** 2).sum(1)).sum()    # sum_k pi_k f(e_k)
    expectation.backward()
    np.testing.assert_allclose(lab.exact_gradient(logits.detach().numpy(), target.numpy()),
                               logits.grad.numpy(), atol=1e-12)


def test_estimator_samples_match_autograd_per_draw():
    logits = np.array([0.3, -1.0, 1.2, 0.0])
    target = np.array([0.0, 1.0, 0.0, 0.0])
    noise = lab.gumbel_noise((5, 4), 1)
    est = lab.estimator_samples(logits, target, 0.4, noise)
    for i in range(5):
        for name, hard in (("soft relaxation", False), ("straight-through Gumbel", True)):
            x = torch.tensor(logits, requires_grad=True)
            y = gumbel_softmax(x, 0.4, hard=hard, noise=torch.tensor(noise[i]))
            ((y - torch.tensor(target)) ** 2).sum().backward()
            np.testing.assert_allclose(est[name][i], x.grad.numpy(), atol=1e-10)
        x = torch.tensor(logits, requires_grad=True)
        k = int(np.argmax(logits + noise[i]))
        f = ((np.eye(4)[k] - target) ** 2).sum()
        (f * torch.log_softmax(x, 0)[k]).backward()
        np.testing.assert_allclose(est["score function (REINFORCE)"][i], x.grad.numpy(), atol=1e-12)


def test_estimator_tradeoff_low_lambda_is_noisy_score_function_is_unbiased():
    target = np.array([0.0, 1.0, 0.0])
    stats = lab.estimator_stats(NOTES, target, temperatures=[0.05, 0.5, 5.0], draws=20_000, seed=0)
    for name in ("soft relaxation", "straight-through Gumbel"):
        v = stats.variance[name]
        assert v[0] > v[1] > v[2]                                   # low lambda: noisy gradients
    assert stats.bias["soft relaxation"][2] > 5 * stats.bias["score function (REINFORCE)"][2]
    # REINFORCE is unbiased: its error is Monte-Carlo noise only, ~ sqrt(var / draws)
    score = "score function (REINFORCE)"
    assert stats.bias[score][0] < 4 * math.sqrt(stats.variance[score][0] / 20_000)


def test_temperature_curves_go_from_one_hot_to_uniform():
    curves = lab.temperature_curves(NOTES, lab.temperature_grid(9), draws=2000, seed=0)
    assert curves.expected_max[0] > 0.99 and curves.expected_entropy[0] < 0.03
    assert np.all(np.diff(curves.expected_max) < 0) and np.all(np.diff(curves.expected_entropy) > 0)
    assert curves.expected_entropy[-1] > 0.9 * math.log(3)
    # E[y] -> pi as lambda -> 0 (Gumbel-max), and drifts to uniform for large lambda
    assert curves.mean_distance[0] < 0.03 and curves.mean_distance[-1] > 0.25


def test_anneal_schedule_and_the_training_forms_schedule():
    cfg = VQVAEConfig()
    form = lab.training_form_schedule()
    assert (form.start, form.rate, form.minimum) == (cfg.tau_start, cfg.tau_rate, cfg.tau_min)
    steps = np.array([0, 10, 1000, 50_000])
    np.testing.assert_allclose(form.values(steps), [gumbel_temperature(int(s), cfg.tau_start, cfg.tau_min,
                                                                       cfg.tau_rate) for s in steps])
    sched = lab.AnnealSchedule(start=2.0, rate=0.01, minimum=0.5)
    assert math.isclose(sched.values(np.array([sched.floor_step()]))[0], 0.5)
    assert sched.values(np.array([1e6]))[0] == 0.5
