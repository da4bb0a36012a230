"""The Sampling panel's maths, without Qt: stepping, exact step back, seeds, likelihoods,
receptive fields, teacher forcing and the cost measurement."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.receptive_field import (blind_spot, causal_region, companion_prior, first_layer_field,
                                           measured_receptive_fields, prior_kind)
from explorer.core.sampling_cost import measure_sampling_cost
from explorer.core.sampling_session import (RunRecord, SamplingSession, SamplingSettings, grey_unsampled,
                                            sample_batch, teacher_forcing)
from prior_helpers import randomize_positional_biases

TINY = dict(num_codes=16, channels=16, layers=2, head_channels=16)


def tiny_prior(kind: str = "gated", num_classes: int = 0, seed: int = 0, **kw):
    torch.manual_seed(seed)
    prior = build_prior(PriorConfig(kind=kind, num_classes=num_classes, **{**TINY, **kw})).eval()
    randomize_positional_biases(prior, seed)
    return prior


@pytest.mark.parametrize("kind,num_classes,label", [("gated", 0, None), ("plain", 0, None), ("gated", 10, 7)])
def test_same_seed_and_settings_give_prior_sample(kind, num_classes, label):
    prior = tiny_prior(kind, num_classes)
    settings = SamplingSettings(temperature=0.7, top_k=5, seed=11, label=label, n=4, index=2)
    session = SamplingSession(prior, settings)
    session.run_to_end()
    expected = prior.sample(4, temperature=0.7, top_k=5, labels=label,
                            generator=torch.Generator().manual_seed(11))[2].numpy()
    np.testing.assert_array_equal(session.grid(), expected)
    np.testing.assert_array_equal(session.grids(), sample_batch(prior, settings).numpy())


def test_greedy_is_temperature_zero():
    prior = tiny_prior()
    session = SamplingSession(prior, SamplingSettings(greedy=True, seed=1))
    session.run_to_end()
    expected = prior.sample(1, temperature=0.0, generator=torch.Generator().manual_seed(1))[0].numpy()
    np.testing.assert_array_equal(session.grid(), expected)
    # greedy never depends on the seed
    other = SamplingSession(prior, SamplingSettings(greedy=True, seed=99))
    other.run_to_end()
    np.testing.assert_array_equal(other.grid(), expected)


def test_steps_fill_raster_positions_in_order_and_step_back_restores_exactly():
    prior = tiny_prior()
    session = SamplingSession(prior, SamplingSettings(seed=5))
    h, w = session.shape
    seen = []
    for n in range(1, 12):
        session.step()
        grid = session.grid()
        filled = np.flatnonzero(grid.reshape(-1) >= 0)
        np.testing.assert_array_equal(filled, np.arange(n))       # exactly the first n positions
        seen.append((grid.copy(), session.probs().copy(), session.log_likelihood()))
    for n in range(10, 0, -1):
        assert session.step_back()
        grid, probs, loglik = seen[n - 1]
        np.testing.assert_array_equal(session.grid(), grid)
        np.testing.assert_array_equal(session.probs(), probs)
        assert session.log_likelihood() == loglik
    # stepping forward again after stepping back gives the same random stream: same final grid
    session.run_to_end()
    fresh = SamplingSession(prior, SamplingSettings(seed=5))
    fresh.run_to_end()
    np.testing.assert_array_equal(session.grid(), fresh.grid())
    session.reset()
    assert (session.grid() == -1).all() and session.t == 0 and not session.step_back()
    assert session.total == h * w


def test_running_log_likelihood_equals_log_prob_of_finished_grid():
    for num_classes, label in ((0, None), (10, 3)):
        prior = tiny_prior("gated", num_classes)
        session = SamplingSession(prior, SamplingSettings(temperature=1.3, top_k=4, seed=2, label=label, n=3,
                                                          index=1))
        session.run_to_end()
        labels = None if label is None else torch.tensor([label])
        with torch.no_grad():
            expected = float(prior.log_prob(torch.from_numpy(session.grid())[None], labels)[0])
        assert session.log_likelihood() == pytest.approx(expected, rel=1e-5, abs=1e-4)
        surprises = session.surprises()
        assert surprises.shape == (session.total,) and (surprises >= 0).all()


def test_class_conditional_needs_a_valid_label():
    prior = tiny_prior("gated", num_classes=10)
    with pytest.raises(ValueError):
        SamplingSession(prior, SamplingSettings())
    with pytest.raises(ValueError):
        SamplingSession(tiny_prior(), SamplingSettings(label=1))
    with pytest.raises(ValueError):
        SamplingSettings(n=2, index=2)


def test_receptive_field_never_includes_current_or_later_positions():
    for prior in (tiny_prior("gated"), tiny_prior("plain"), tiny_prior("gated", num_classes=3),
                  tiny_prior("gated", members=2)):
        fields = measured_receptive_fields(prior)
        h, w = prior.config.height, prior.config.width
        for i in range(h):
            for j in range(w):
                causal = causal_region(h, w, i, j)
                assert not (fields[i, j] & ~causal).any()
                first = first_layer_field(prior, i, j)
                assert not (first & ~causal).any()
                assert not (first & ~fields[i, j]).any()             # the stack sees what layer 1 sees
        assert fields[3, 3][2, 3] and fields[3, 3][3, 2]             # direct neighbours above and left


def test_plain_has_a_blind_spot_up_right_that_gated_has_not():
    gated = tiny_prior("gated")
    plain = companion_prior(gated, "plain")
    assert prior_kind(plain) == "plain" and prior_kind(companion_prior(plain, "gated")) == "gated"
    i, j = 3, 3
    f_plain = measured_receptive_fields(plain)[i, j]
    f_gated = measured_receptive_fields(gated)[i, j]
    up_right = np.zeros_like(f_plain)
    up_right[:i, j + 1:] = True
    missed = up_right & f_gated & ~f_plain
    assert missed.any(), "the gated prior sees an up-right cell the plain one cannot"
    assert (blind_spot(f_plain, i, j) & up_right).any()


def test_teacher_forcing_one_pass_matches_log_prob():
    prior = tiny_prior("gated", num_classes=4)
    codes = np.random.default_rng(0).integers(0, 16, (7, 7))
    tf = teacher_forcing(prior, codes, label=2)
    with torch.no_grad():
        expected = float(prior.log_prob(torch.from_numpy(codes)[None], torch.tensor([2]))[0])
    assert tf.log_likelihood == pytest.approx(expected, rel=1e-5, abs=1e-4)
    assert tf.probs.shape == (16, 7, 7) and np.allclose(tf.probs.sum(0), 1, atol=1e-5)
    np.testing.assert_allclose(tf.true_prob, np.take_along_axis(tf.probs, codes[None], 0)[0], rtol=1e-6)
    assert tf.seconds > 0


def test_cost_measures_both_samplers():
    cost = measure_sampling_cost(tiny_prior("plain", num_classes=2))
    assert cost.positions == 49 and cost.naive_grid_s > 0 and cost.fast_grid_s > 0
    assert cost.naive_step_s == pytest.approx(cost.naive_grid_s / 49)
    assert cost.speedup == pytest.approx(cost.naive_grid_s / cost.fast_grid_s)


def test_grey_unsampled_only_touches_pending_cells():
    image = np.ones((1, 28, 28), dtype=np.float32)
    grid = np.full((7, 7), -1)
    grid[:2] = 3
    grid[2, :3] = 1
    out = grey_unsampled(image, grid)
    assert (out[0, :8] == 1).all() and (out[0, 8:12, :12] == 1).all()
    assert (out[0, 8:12, 12:] < 1).all() and (out[0, 12:] < 1).all()


def test_a_run_computed_elsewhere_is_the_same_run_and_its_views_match():
    from explorer.core.models.vqvae import VQVAE, VQVAEConfig
    from explorer.core.sampling_session import run_views, step_views
    prior = tiny_prior("gated", num_classes=3)
    settings = SamplingSettings(temperature=0.9, seed=4, label=2, n=3, index=1)
    worker = SamplingSession(prior, settings).record()            # e.g. in a worker thread
    session = SamplingSession(prior, settings)
    for _ in range(5):
        session.step()
    expected = [session.grid()]
    session.adopt(worker)
    assert session.t == 5
    np.testing.assert_array_equal(session.grid(), expected[0])
    session.run_to_end()
    fresh = SamplingSession(prior, settings)
    fresh.run_to_end()
    np.testing.assert_array_equal(session.grids(), fresh.grids())
    assert session.log_likelihood() == pytest.approx(fresh.log_likelihood())
    with pytest.raises(ValueError):
        SamplingSession(prior, SamplingSettings(seed=5, label=2, n=3, index=1)).adopt(worker)
    torch.manual_seed(0)
    vqvae = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=16, code_dim=4)).eval()
    views = run_views(vqvae, worker, background_code=2, tiles=3)
    assert len(views) == session.total + 1 and views[0].top_codes == []
    fresh.seek(10)
    one = step_views(vqvae, fresh.grid(), fresh.current.position, fresh.probs(), 2, 3)
    assert views[10].top_codes == one.top_codes
    np.testing.assert_allclose(views[10].image, one.image, atol=1e-5)
    np.testing.assert_allclose(views[10].tiles, one.tiles, atol=1e-5)


def test_continuing_a_run_with_another_temperature_keeps_the_drawn_prefix():
    """Changing T mid-run keeps the cells already drawn (and their steps, as drawn) and draws the
    rest at the new T: exactly prior.sample(..., given=the kept prefix) with the same seed."""
    from explorer.core.sampling_session import precompute_run
    prior = tiny_prior("gated", num_classes=3)
    before = SamplingSettings(temperature=1.0, seed=3, label=1, n=4, index=2)
    first = SamplingSession(prior, before)
    for _ in range(20):
        first.step()
    drawn = first.grids()
    kept = first.shown_record()
    assert isinstance(kept, RunRecord) and kept.grids.shape[0] == 20
    after = SamplingSettings(temperature=0.3, top_k=4, seed=3, label=1, n=4, index=2)
    session = SamplingSession(prior, after, kept=kept)
    assert session.t == session.kept == 20 and session.kept_settings == before
    np.testing.assert_array_equal(session.grids(), drawn)                   # nothing drawn is lost
    np.testing.assert_array_equal(session.probs(), first.probs())          # step 20 as it was drawn
    session.run_to_end()
    given = torch.from_numpy(session.given)
    assert (session.given.reshape(4, -1)[:, :20] == drawn.reshape(4, -1)[:, :20]).all()
    assert (session.given.reshape(4, -1)[:, 20:] == -1).all()
    expected = prior.sample(4, temperature=0.3, top_k=4, labels=1, generator=torch.Generator().manual_seed(3),
                            given=given).numpy()
    np.testing.assert_array_equal(session.grids(), expected)
    np.testing.assert_array_equal(session.grids().reshape(4, -1)[:, :20], drawn.reshape(4, -1)[:, :20])
    # stepping back into the kept part and forward again replays exactly
    session.seek(15)
    np.testing.assert_array_equal(session.grids(), np.where(np.arange(49).reshape(7, 7) < 15, drawn, -1))
    session.run_to_end()
    np.testing.assert_array_equal(session.grids(), expected)
    # a worker computing the same continuation gives the same run
    gen = precompute_run(prior, _tiny_vqvae(), after, background_code=0, tiles=2, kept=kept)
    try:
        while True:
            next(gen)
    except StopIteration as done:
        record, views, images = done.value
    np.testing.assert_array_equal(record.grids[-1], expected)
    np.testing.assert_array_equal(record.probs[:20], kept.probs)
    with pytest.raises(ValueError):
        SamplingSession(prior, SamplingSettings(seed=3, label=1, n=2), kept=kept)


def _tiny_vqvae():
    from explorer.core.models.vqvae import VQVAE, VQVAEConfig
    torch.manual_seed(0)
    return VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=16, code_dim=4)).eval()
