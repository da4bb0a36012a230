"""Qt-free grid model, grid files, influence and codebook projections."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from explorer.core.grid_files import GridFileError, load_grid, save_grid
from explorer.core.latent_edit import GridEdit, LatentGrid, Region, cell_fit, encode_source, inpaint_steps
from explorer.core.models.prior import PriorConfig, build_prior
from explorer.core.projection import (architectural_influence, code_order, code_palette, codebook_map, contribution_tiles, filled_tiles,
                                      measure_influence, pca_fit, usage_from_codes)
from explorer.core.models.vqvae import VQVAE, VQVAEConfig

K = 16


@pytest.fixture(scope="module")
def vqvae() -> VQVAE:
    torch.manual_seed(0)
    return VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=K, code_dim=4)).eval()


def make_grid() -> LatentGrid:
    g = LatentGrid(K, (7, 7))
    g.load(np.arange(49).reshape(7, 7) % K)
    return g


def test_paint_apply_revert_is_exact() -> None:
    g = make_grid()
    before = g.codes.copy()
    edit = g.paint([(1, 2), (1, 2), (3, 3)], 5)
    assert len(edit) == 2
    g.apply(edit)
    assert g.codes[1, 2] == 5 and g.codes[3, 3] == 5
    assert np.count_nonzero(g.codes != before) <= 2
    g.revert(edit)
    np.testing.assert_array_equal(g.codes, before)


def test_replace_all_touches_only_that_code() -> None:
    g = make_grid()
    before = g.codes.copy()
    g.apply(g.replace_all(3, 7))
    assert not (g.codes == 3).any()
    np.testing.assert_array_equal(g.codes[before != 3], before[before != 3])
    assert (g.codes[before == 3] == 7).all()


def test_randomise_stays_inside_region() -> None:
    g = make_grid()
    before = g.codes.copy()
    region = Region.spanning((4, 5), (2, 1))
    assert region == Region(2, 1, 4, 5)
    g.apply(g.randomise(region, np.random.default_rng(0)))
    outside = ~region.mask(7, 7)
    np.testing.assert_array_equal(g.codes[outside], before[outside])
    assert g.codes.min() >= 0 and g.codes.max() < K


def test_reset_returns_to_loaded_grid() -> None:
    g = make_grid()
    g.apply(g.paint([(0, 0)], 9))
    g.apply(g.reset())
    np.testing.assert_array_equal(g.codes, g.original)


def test_listeners_called_on_every_change() -> None:
    g = make_grid()
    calls = []
    g.add_listener(lambda: calls.append(1))
    g.apply(g.paint([(0, 0)], 1))
    g.revert(GridEdit.between(g.codes, g.codes, "noop"))
    assert len(calls) == 2


def test_bad_code_rejected() -> None:
    g = make_grid()
    with pytest.raises(ValueError):
        g.paint([(0, 0)], K)


@pytest.mark.parametrize("suffix", [".npy", ".json"])
def test_save_load_round_trip(tmp_path, suffix) -> None:
    codes = np.random.default_rng(1).integers(0, K, (7, 7))
    path = tmp_path / f"grid{suffix}"
    save_grid(path, codes, K)
    np.testing.assert_array_equal(load_grid(path, K, (7, 7)), codes)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]     # no temp files left


def test_load_rejects_bad_files(tmp_path) -> None:
    big = tmp_path / "big.npy"
    np.save(big, np.full((7, 7), K))
    with pytest.raises(GridFileError, match="K = 16"):
        load_grid(big, K, (7, 7))
    shape = tmp_path / "shape.npy"
    np.save(shape, np.zeros((5, 5), dtype=np.int64))
    with pytest.raises(GridFileError, match="5x5"):
        load_grid(shape, K, (7, 7))
    floats = tmp_path / "f.npy"
    np.save(floats, np.zeros((7, 7), dtype=np.float32))
    with pytest.raises(GridFileError, match="whole-number"):
        load_grid(floats, K, (7, 7))
    pickled = tmp_path / "obj.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(GridFileError):
        load_grid(pickled, K, (7, 7))
    corrupt = tmp_path / "c.json"
    corrupt.write_text("{not json")
    with pytest.raises(GridFileError):
        load_grid(corrupt, K, (7, 7))
    ragged = tmp_path / "r.json"
    ragged.write_text(json.dumps({"codes": [[1, 2], [3]]}))
    with pytest.raises(GridFileError):
        load_grid(ragged, K, (7, 7))
    with pytest.raises(GridFileError):
        load_grid(tmp_path / "missing.npy", K, (7, 7))


def test_influence_contains_own_patch_and_is_bounded(vqvae) -> None:
    inf = measure_influence(vqvae)
    bound = architectural_influence(vqvae.config)
    assert inf.empirical
    for got, most in ((inf.up, bound.up), (inf.left, bound.left), (inf.down, bound.down), (inf.right, bound.right)):
        assert 0 <= got <= most
    t, l, b, r = inf.rect(0, 0)
    assert (t, l) == (0, 0) and b >= 4 and r >= 4
    assert inf.rect(6, 6)[2:] == (28, 28)


def test_cell_fit_orders_nearest_first() -> None:
    d = np.zeros((1, 1, 4))
    d[0, 0] = [9.0, 1.0, 4.0, 16.0]
    fit = cell_fit(d, 0, 0, current=3)
    assert (fit.nearest, fit.runner_up) == (1, 2)
    assert fit.nearest_distance == pytest.approx(1.0) and fit.current_distance == pytest.approx(4.0)
    assert cell_fit(None, 0, 0, 0) is None


def test_encode_source_matches_encode(vqvae) -> None:
    img = torch.rand(1, 28, 28)
    src = encode_source(vqvae, img.numpy())
    np.testing.assert_array_equal(src.codes, vqvae.encode(img[None])[0].numpy())
    assert src.distances.shape == (7, 7, K)
    np.testing.assert_array_equal(src.distances.argmin(-1), src.codes)


def test_inpaint_keeps_cells_outside_mask() -> None:
    torch.manual_seed(0)
    prior = build_prior(PriorConfig(num_codes=K, channels=16, layers=2, head_channels=16)).eval()
    codes = np.random.default_rng(0).integers(0, K, (7, 7))
    mask = Region(2, 2, 4, 4).mask(7, 7)
    last = None
    for last in inpaint_steps(prior, codes, mask, generator=torch.Generator().manual_seed(1)):
        pass
    out = last.grid[0].numpy()
    np.testing.assert_array_equal(out[~mask], codes[~mask])


def test_class_conditional_prior_needs_a_class_and_uses_it() -> None:
    """p(z | c): sampling and inpainting without a class are refused in words before any step;
    with one, the steps condition on it (the class changes the distribution at the first cell)."""
    from explorer.core.latent_edit import PriorUseError, prior_num_classes, sample_steps
    torch.manual_seed(0)
    prior = build_prior(PriorConfig(num_codes=K, channels=16, layers=2, head_channels=16, num_classes=4)).eval()
    with torch.no_grad():
        for p in prior.parameters():
            p.add_(torch.randn_like(p) * 0.3)        # an untrained prior's class tables are not all alike
    assert prior_num_classes(prior) == 4
    codes = np.zeros((7, 7), dtype=np.int64)
    mask = Region(0, 0, 2, 2).mask(7, 7)
    for bad in (None, 4, -1):
        with pytest.raises(PriorUseError, match="choose which class"):
            sample_steps(prior, (7, 7), label=bad)
        with pytest.raises(PriorUseError, match="choose which class"):
            inpaint_steps(prior, codes, mask, label=bad)
    firsts = [next(iter(sample_steps(prior, (7, 7), label=c))).probs[0] for c in range(4)]
    assert any(not torch.allclose(firsts[0], f, atol=1e-4) for f in firsts[1:])
    last = None
    for last in inpaint_steps(prior, codes, mask, label=2, generator=torch.Generator().manual_seed(1)):
        pass
    np.testing.assert_array_equal(last.grid[0].numpy()[~mask], codes[~mask])
    with pytest.raises(PriorUseError, match="5×5"):
        sample_steps(prior, (5, 5), label=0)
    unconditional = build_prior(PriorConfig(num_codes=K, channels=16, layers=2, head_channels=16)).eval()
    assert prior_num_classes(unconditional) == 0
    assert next(iter(sample_steps(unconditional, (7, 7), label=3))).grid.shape == (1, 7, 7)   # class ignored


def test_tiles_shapes_and_contribution_zero_for_neutral(vqvae) -> None:
    tiles = filled_tiles(vqvae)
    assert tiles.shape == (K, 1, 28, 28) and tiles.min() >= 0 and tiles.max() <= 1
    contrib = contribution_tiles(vqvae, neutral_code=2)
    assert contrib.shape == (K, 1, 28, 28)
    # decode(bg with the neutral code at the centre) == decode(bg): zero up to float rounding, which
    # differs between batch sizes and torch versions, so compare with a tolerance far below any real
    # contribution (tiles are shown on a scale of at least 0.05).
    assert np.abs(contrib[2]).max() < 1e-5
    assert np.abs(np.delete(contrib, 2, axis=0)).max() > 1e-3


def test_usage_and_perplexity() -> None:
    codes = np.array([[0, 0], [1, 1]])
    u = usage_from_codes(codes, 4)
    assert u.counts.tolist() == [2, 2, 0, 0] and u.cells == 4
    assert u.perplexity == pytest.approx(2.0)
    assert u.dead.tolist() == [2, 3]


def test_orders_are_permutations(vqvae) -> None:
    book = vqvae.codebook.detach().numpy()
    counts = np.arange(K)[::-1].copy()
    counts[5] = 100
    for mode in ("index", "usage", "similarity"):
        order = code_order(book, mode, counts)
        assert sorted(order.tolist()) == list(range(K))
    assert code_order(book, "usage", counts)[0] == 5


def test_pca_and_map(vqvae) -> None:
    pts = np.random.default_rng(0).normal(size=(200, 3)) * [5.0, 1.0, 0.1]
    pca = pca_fit(pts, 2)
    assert abs(pca.components[0, 0]) > 0.99 and pca.explained[0] > 0.9
    m = codebook_map(vqvae, torch.rand(3, 1, 28, 28))
    assert m.codes_xy.shape == (K, 2) and m.points_xy.shape == (3 * 49, 2)
    assert m.assignment.min() >= 0 and m.assignment.max() < K


def test_palette_distinct() -> None:
    pal = code_palette(128)
    assert pal.shape == (128, 3) and len({tuple(c) for c in pal}) == 128


def test_image_browser_steps_within_class() -> None:
    from explorer.core.latent_edit import ImageBrowser
    b = ImageBrowser(np.array([3, 1, 3, 2, 3]))
    assert [b.step(1) for _ in range(4)] == [0, 1, 2, 3]
    assert b.step(-1) == 2
    b.class_filter = 3
    assert [b.step(1) for _ in range(3)] == [4, 0, 2]
    assert b.step(-1) == 0
    assert b.random(np.random.default_rng(0)) in (0, 2, 4)
    b.class_filter = 7
    assert b.step(1) is None
    assert b.classes() == [1, 2, 3]


def test_analysis_counts_every_cell(vqvae) -> None:
    from explorer.core.projection import analyse_codebook
    images = (torch.rand(5, 1, 28, 28) * 255).to(torch.uint8)
    a = analyse_codebook(vqvae, "contribution", images)
    t, l, b, r = a.window                                   # zoomed to the pixels the centre cell changes
    assert a.tiles.shape == (K, b - t, r - l, 3) and a.tiles.dtype == np.uint8 and b - t == r - l
    ct, cl, cb, cr = a.cell                                 # the centre cell's 4x4 patch lies inside
    assert (cb - ct, cr - cl) == (4, 4) and 0 <= ct and cb <= b - t
    assert analyse_codebook(vqvae, "filled").tiles.shape == (K, 28, 28, 3)
    assert a.usage.counts.sum() == 5 * 49 and a.cloud.points_xy.shape == (5 * 49, 2)
    assert a.neutral_code == int(np.argmax(a.usage.counts))
    assert analyse_codebook(vqvae).usage is None


def test_gumbel_models_map_soft_embeddings_and_logit_fits() -> None:
    from explorer.core.latent_edit import describe_cell
    from explorer.core.projection import analyse_codebook
    torch.manual_seed(0)
    gumbel = VQVAE(VQVAEConfig(hidden_channels=16, res_channels=8, num_codes=K, code_dim=4,
                               quantizer="gumbel")).eval()
    images = (torch.rand(2, 1, 28, 28) * 255).to(torch.uint8)
    a = analyse_codebook(gumbel, "filled", images)
    assert a.cloud.soft and a.cloud.points_xy.shape == (2 * 49, 2)
    np.testing.assert_array_equal(a.cloud.assignment, gumbel.encode(images.float() / 255).reshape(-1).numpy())
    src = encode_source(gumbel, images[0].numpy())
    assert src.is_logit and "logit" in describe_cell(src, 0, 0, int(src.codes[0, 0]), (0, 0, 8, 8))


def test_contribution_window_holds_every_visible_change() -> None:
    from explorer.core.projection import contribution_window
    contrib = np.zeros((3, 1, 28, 28), dtype=np.float32)
    assert contribution_window(contrib, 7, 4) == (8, 8, 20, 20)        # nothing: the cell and one cell around
    contrib[1, 0, 5, 14] = 0.5                                          # a change 7 px above the centre patch
    contrib[2, 0, 14, 14] = -1.0
    contrib[0, 0, 0, 0] = 0.05                                          # below 10 % of the peak: ignored
    t, l, b, r = contribution_window(contrib, 7, 4)
    assert (t, l) == (5, 5) and (b, r) == (23, 23)                      # a square centred on the patch
    assert contribution_window(np.ones((1, 1, 28, 28), np.float32), 7, 4) == (0, 0, 28, 28)


def test_hover_text_names_each_code_once() -> None:
    from explorer.core.latent_edit import SourceEncoding, describe_cell
    d = np.zeros((1, 1, 3), dtype=np.float32)
    d[0, 0] = [0.09, 0.01, 0.04]                       # squared distances: nearest 1, runner-up 2
    src = SourceEncoding(np.zeros((1, 4, 4), np.float32), np.array([[1]]), d)
    nearest = describe_cell(src, 0, 0, 1, (0, 0, 4, 4))
    assert "nearest code" in nearest and nearest.count("code 1") == 1 and "runner-up 2 = 0.200" in nearest
    edited = describe_cell(src, 0, 0, 0, (0, 0, 4, 4))
    assert edited.count("code 0") == 1 and "nearest code 1 = 0.100" in edited and "runner-up 2" in edited
    second = describe_cell(src, 0, 0, 2, (0, 0, 4, 4))
    assert second.count("code 2") == 1 and "runner-up" in second


def test_rasterised_points_land_where_they_are() -> None:
    from explorer.core.projection import rasterise_points
    xy = np.array([[0.0, 0.0], [10.0, 5.0]])
    rgb = np.array([[255, 0, 0], [0, 0, 255]], dtype=np.uint8)
    img = rasterise_points(xy, rgb, (0.0, 0.0, 10.0, 5.0), width=100)
    assert img.shape == (50, 100, 4)                # square data pixels
    assert tuple(img[0, 0]) == (255, 0, 0, 170) and tuple(img[49, 99]) == (0, 0, 255, 170)
    assert img[25, 50, 3] == 0                      # transparent where there is no point
