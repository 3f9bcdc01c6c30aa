"""Building blocks of implicit_bias.experiments.factorization (the checks themselves run in the
registry contract test, tests/experiments/test_registry.py)."""

import numpy as np
import pytest
import xarray as xr

from implicit_bias import models
from implicit_bias.experiments import factorization as fz
from implicit_bias.experiments import runner


pytestmark = pytest.mark.xdist_group("factorization")  # with its experiments in test_registry.py: shared cached runs


def _trajectory(params_list):
    names = params_list[0].keys()
    return xr.Dataset({f"param_{k}": (("t", f"{k}_0", f"{k}_1"), np.stack([p[k] for p in params_list])) for k in names})


def test_balancedness_drift_by_hand():
    m = models.MatrixFactorization((2, 2), depth=2, scale=1.0)
    p0 = {"W1": np.eye(2), "W2": np.eye(2)}
    # scaling W1 by c and W2 by 1/c keeps W but changes D_1 = W1 W1^T - W2^T W2 by (c^2 - 1/c^2 - 0) I
    c = 1.1
    p1 = {"W1": c * np.eye(2), "W2": np.eye(2) / c}
    assert fz.balancedness_drift(m, _trajectory([p0, p0])) == 0.0
    drift = fz.balancedness_drift(m, _trajectory([p0, p1]))
    expected = np.linalg.norm((c**2 - c**-2) * np.eye(2)) / np.linalg.norm(c**2 * np.eye(2))
    assert drift == pytest.approx(expected, rel=1e-12)
    # an orthogonal change of basis between the factors W2 Q^T, Q W1 conjugates D_1: drift unless Q commutes
    Q = np.array([[0.0, 1.0], [1.0, 0.0]])
    p2 = {"W1": Q @ np.diag([2.0, 1.0]), "W2": np.diag([1.0, 1.0]) @ Q.T}
    p0b = {"W1": np.diag([2.0, 1.0]), "W2": np.eye(2)}
    assert fz.balancedness_drift(m, _trajectory([p0b, p2])) > 0.1


def test_checks_are_registered_with_their_papers():
    for id, paper in (("gunasekar2017-commuting", "gunasekar2017"), ("vardi2022-balancedness-factorization", "vardi2022"), ("arora2019-depth-rank", "arora2019")):
        e = runner.get(id)
        assert e.kind == "check" and e.paper == paper


def test_razin_cohen_quantities_by_hand():
    m = models.MatrixFactorization((2, 2), depth=1, scale=1.0)
    W = np.array([[200.0, 1.0], [1.0, 0.01]])  # residuals (0, 0, 0.01): L = 0.01^2 / 6, s = 0.01
    tr = _trajectory([{"W1": W}])
    tr["loss"] = ("t", [0.01**2 / 6])
    q = fz.razin_cohen_quantities(m, tr)
    assert q["det"][0] == pytest.approx(200 * 0.01 - 1.0)
    assert q["bound"][0] == pytest.approx(0.99**2 / 0.01)
    assert q["w11"][0] == 200.0
    s = np.linalg.svd(W, compute_uv=False)
    assert q["s1"][0] == pytest.approx(s.sum()) and q["sinf"][0] == pytest.approx(s[0])
    assert q["s0.5"][0] == pytest.approx(np.sum(np.sqrt(s)) ** 2)


def test_singular_value_ode_errors_zero_on_balanced_states_and_large_off_them():
    from implicit_bias import matrix_data as md

    data = md.MatrixDataset(np.array([1.0, 2.0, -1.0]), entries=[[0, 0], [1, 1], [0, 1]], shape=(2, 2))
    m = models.MatrixFactorization((2, 2), depth=2, scale=1.0, observations="completion")
    R = np.array([[0.6, -0.8], [0.8, 0.6]])
    root = np.diag(np.sqrt([0.9, 0.3]))
    balanced = {"W1": R @ root, "W2": root @ R.T}  # W2^T W2 = W1 W1^T, W = diag(0.9, 0.3)
    unbalanced = {"W1": 2.0 * balanced["W1"], "W2": 0.5 * balanced["W2"]}  # same W, not balanced
    for p, small in ((balanced, True), (unbalanced, False)):
        tr = _trajectory([p, p]).assign_coords(time=("t", [0.0, 1.0]))
        q = fz.singular_value_ode_errors(m, data, tr, 2)
        if small:
            assert np.max(q["errors"]) < 1e-12
        else:  # the flow of unbalanced factors is not the formula's: rates differ by O(1)
            assert np.max(q["errors"]) > 0.1


def test_completion_error_counts_only_the_unobserved_entries():
    from implicit_bias import matrix_data as md

    W_star = np.array([[1.0, 2.0], [3.0, 4.0]])
    data = md.MatrixDataset(np.array([1.0, 4.0]), entries=[[0, 0], [1, 1]], shape=(2, 2), W_star=W_star)
    # wrong observed entries do not count; the unobserved (0, 1), (1, 0) are off by (1, -1)
    W = np.array([[100.0, 3.0], [2.0, -7.0]])
    assert fz.completion_error(data, W) == pytest.approx(np.sqrt(2.0) / np.sqrt(13.0), rel=1e-14)
    assert fz.completion_error(data, W_star) == 0.0
    with pytest.raises(ValueError, match="shape"):
        fz.completion_error(data, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="W_star"):
        fz.completion_error(md.MatrixDataset(np.array([1.0]), entries=[[0, 0]], shape=(2, 2)), W)
    full = md.MatrixDataset(W_star.reshape(-1), entries=[[0, 0], [0, 1], [1, 0], [1, 1]], shape=(2, 2), W_star=W_star)
    with pytest.raises(ValueError, match="every entry"):
        fz.completion_error(full, W)


def test_rank_order_violation_by_hand():
    # (counts, depths, scales): depths increasing, scales decreasing
    ok = np.array([[[3.0, 2.5], [2.4, 2.0], [2.2, 2.0]]])
    v = fz.rank_order_violation(ok)
    assert v["depth"] == pytest.approx(0.0) and v["init"] == pytest.approx(-0.2) and v["max"] == 0.0
    bad_depth = np.array([[[3.0, 2.5], [2.4, 2.0], [2.2, 2.05]]])  # depth 4 above depth 3 at the smallest scale
    assert fz.rank_order_violation(bad_depth)["depth"] == pytest.approx(0.05)
    assert fz.rank_order_violation(bad_depth)["max"] == pytest.approx(0.05)
    bad_init = np.array([[[3.0, 2.5], [2.0, 2.3], [1.9, 1.8]], [[2.0, 1.9], [1.9, 1.8], [1.8, 1.7]]])  # depth 3, count 0: smaller scale, higher rank
    assert fz.rank_order_violation(bad_init)["init"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="counts, depths, scales"):
        fz.rank_order_violation(np.zeros((2, 2)))


def test_effective_rank_falls_as_a_tail_singular_value_shrinks():
    # the quantity the depth-rank check orders: rank-2 W plus a tail sigma_3 = eps
    from implicit_bias.theory import factorization as tf

    eranks = [tf.effective_rank(np.diag([2.0, 1.0, eps])) for eps in (1.0, 0.1, 1e-3, 0.0)]
    assert np.all(np.diff(eranks) < 0)
    p = np.array([2.0, 1.0]) / 3.0
    assert eranks[-1] == pytest.approx(np.exp(-np.sum(p * np.log(p))), rel=1e-14)


def test_depth_rank_figure_on_a_tiny_dataset():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = ("observations", "depth", "scale")
    ds = xr.Dataset(
        {
            "error": (dims, np.full((2, 3, 2), 0.1)),
            "effective_rank": (dims, np.full((2, 3, 2), 2.0)),
            "nuclear_error": (("observations",), [0.3, 0.01]),
            "nuclear_effective_rank": (("observations",), [2.5, 2.0]),
        },
        coords={"observations": [10, 20], "depth": [2, 3, 4], "scale": [1e-2, 1e-4]},
        attrs={"shape": [4, 4], "rank": 1, "loss_target": 1e-6, "ground_truth_effective_rank": 1.0},
    )
    fig = fz.depth_rank_figure(ds, 10)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_symmetric_sensing_is_symmetric_and_consistent():
    d = fz.symmetric_sensing(5, 2, 7, seed=1)
    assert d.kind == "sensing" and d.A.shape == (7, 5, 5)
    assert np.array_equal(d.A, d.A.transpose(0, 2, 1))
    assert np.allclose(d.y, np.einsum("kij,ij->k", d.A, d.W_star))
    ev = np.linalg.eigvalsh(d.W_star)
    assert np.sum(ev > 1e-9 * ev[-1]) == 2 and ev[0] > -1e-9 * ev[-1]  # PSD of rank 2
    assert np.linalg.norm(d.W_star) == pytest.approx(5.0)


def test_numerical_rank_by_hand():
    W = np.diag([1.0, 2e-3, 5e-4, 0.0])
    assert fz.numerical_rank(W, 1.0) == 2
    assert fz.numerical_rank(W, 1.0, rtol=1e-4) == 3
    assert fz.numerical_rank(1e-16 * np.eye(3), 1.0) == 0


def test_matched_loss_distances_zero_on_the_path_and_the_offset_off_it():
    from implicit_bias.theory import glrl

    data = fz.symmetric_sensing(4, 2, 5, seed=0)
    path = glrl.greedy_low_rank(data)
    L, Ws, _ = path.sample(20)
    d = fz.matched_loss_distances(path, L, Ws, floor=1e-8 * path.initial_loss)
    assert np.nanmax(d) < 1e-6
    # a state paired with another state's loss: the distance is the distance between the two states
    k = int(np.argmin(np.abs(L - 0.5 * path.initial_loss)))
    D = np.zeros_like(Ws[k])
    D[0, 0] = 0.1
    d2 = fz.matched_loss_distances(path, [L[k]], [Ws[k] + D], floor=0.0)
    assert d2[0] == pytest.approx(0.1 / np.linalg.norm(path.W), rel=1e-4)
    # below the floor: left out
    assert np.isnan(fz.matched_loss_distances(path, [1e-30], [path.W], floor=1e-20)[0])


def test_li2021_experiments_are_registered():
    for id, kind in (("li2021-greedy-low-rank", "check"), ("li2021-glrl", "figure")):
        e = runner.get(id)
        assert e.kind == kind and e.paper == "li2021"


def test_tensor_completion_observes_distinct_entries_of_a_low_rank_tensor():
    ds, E, T = fz.tensor_completion((4, 5, 3), 2, 30, seed=1)
    assert E.shape == (30, 3) and ds.X.shape == (30, 3)
    assert len({tuple(e) for e in E.tolist()}) == 30
    assert np.allclose(ds.y, T[tuple(E.T)]) and np.array_equal(ds.X, E.astype(float))
    assert np.linalg.norm(T) == pytest.approx(np.sqrt(60.0))
    # CP rank 2: every unfolding has rank 2
    assert np.linalg.matrix_rank(T.reshape(4, 15), tol=1e-9) == 2 and np.linalg.matrix_rank(T.transpose(2, 0, 1).reshape(3, 20), tol=1e-9) == 2


def test_active_sequence_by_hand():
    sigma = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [2.0, 0.05, 0.0], [2.0, 1.0, 0.0], [2.0, 1.0, 0.1]])
    assert fz.active_sequence(sigma) == [0, 1, 2]  # threshold 0.1 * 2 = 0.2: the third never counts
    assert fz.active_sequence(sigma, rtol=0.01) == [0, 1, 2, 3]


def test_tensor_quantities_formula_error_is_small_on_balanced_states_and_large_off_them():
    from implicit_bias import models

    ds, E, T = fz.tensor_completion((3, 3, 3), 1, 12, seed=0)
    m = models.TensorFactorization((3, 3, 3), components=2, scale=0.5)
    p0 = {k: np.asarray(v) for k, v in m.init(0).items()}
    traj = xr.Dataset({f"param_{k}": (("t", f"{k}_0", f"{k}_1"), v[None]) for k, v in p0.items()})
    traj["time"] = ("t", [0.0])
    traj["loss"] = ("t", [1.0])
    q = fz.tensor_quantities(m, ds, E, T, traj)
    assert np.max(q["errors"]) < 1e-12
    pu = dict(p0, F1=2.0 * p0["F1"], F2=0.5 * p0["F2"])  # same tensor, unbalanced factors
    traj_u = xr.Dataset({f"param_{k}": (("t", f"{k}_0", f"{k}_1"), v[None]) for k, v in pu.items()})
    traj_u["time"], traj_u["loss"] = ("t", [0.0]), ("t", [1.0])
    assert np.max(fz.tensor_quantities(m, ds, E, T, traj_u)["errors"]) > 1e-2


def test_razin2021_check_is_registered():
    e = runner.get("razin2021-tensor-rank")
    assert e.kind == "check" and e.paper == "razin2021"


# ------------------------------------------------------------------ the issue's figures (issue 21, Experiments)


def test_crossing_activation_times_and_padding_by_hand():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    sigma = np.array([[0.0, 0.0, 0.0], [1.5, 0.1, 0.0], [2.0, 0.6, 0.0], [2.0, 1.0, 0.0]])
    ct = fz.crossing_times(t, sigma)
    assert ct[0] == 1.0 and ct[1] == 2.0 and np.isinf(ct[2])  # 0.6 >= 0.5 * 1.0 first at t = 2; a zero column never crosses
    assert np.array_equal(fz.activation_times(t, sigma), [1.0, 2.0, np.inf])  # threshold 0.1 * 2 = 0.2
    P = fz.padded_stack([np.ones((2, 3)), np.zeros((3, 3))])
    assert P.shape == (2, 3, 3) and np.all(np.isnan(P[0, 2])) and np.all(P[1] == 0)


def test_singular_value_trace_by_hand():
    m = models.MatrixFactorization((3, 3), depth=2, scale=1.0)
    p = {"W1": np.diag([3.0, 2.0, 1.0]), "W2": np.diag([1.0, 0.5, 2.0])}
    tr = _trajectory([p, p])
    tr["time"], tr["loss"] = ("t", [0.0, 1.0]), ("t", [1.0, 0.5])
    q = fz.singular_value_trace(m, tr, top=2)
    assert q["sigma"].shape == (2, 2) and np.allclose(q["sigma"][1], [3.0, 2.0])  # diag(3, 1, 2) sorted, top 2


def _run_quick(id):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = runner.get(id).run("quick")
    plt.close(res.figure)
    return res


def test_figures_are_registered_with_their_papers():
    for id, paper in (("arora2019-fig", "arora2019"), ("arora2019-singular-values", "arora2019"), ("razin-cohen2020-fig", "razin-cohen2020"), ("razin2021-tensor", "razin2021")):
        e = runner.get(id)
        assert e.kind == "figure" and e.paper == paper


def test_figures_draw_the_checks_cached_runs_without_training_again():
    # each figure reuses its check's runs: after the check, the figure's quick profile adds no cache miss
    # (if a check's quick settings change, the figure's must follow, or CI pays for the runs twice)
    for check, fig, caches in (("arora2019-depth-rank", "arora2019-fig", [fz.depth_rank_runs]), ("arora2019-singular-value-ode", "arora2019-singular-values", [fz.singular_value_run]),
                               ("razin-cohen2020-norms", "razin-cohen2020-fig", [fz.razin_cohen_trace]), ("razin2021-tensor-rank", "razin2021-tensor", [fz.tensor_runs])):
        _run_quick(check)
        misses = [c.cache_info().misses for c in caches]
        res = _run_quick(fig)
        assert [c.cache_info().misses for c in caches] == misses, fig
        assert all(c.passed for c in res.checks), fig


def test_arora2019_fig_dataset_is_the_depth_rank_grid():
    ds = _run_quick("arora2019-fig").data
    assert ds.error.dims == ("observations", "depth", "scale") and list(ds.depth.values) == [2, 3, 4]
    assert ds.nuclear_error.dims == ("observations",) and ds.sizes["observations"] >= 2
    assert np.all((ds.error.values > 0) & (ds.error.values < 1)) and np.all(ds.effective_rank.values >= 1)


def test_arora2019_singular_values_dataset_holds_the_runs_singular_values():
    ds = _run_quick("arora2019-singular-values").data
    shape, rank, n_obs = ds.attrs["shape"], ds.attrs["rank"], ds.attrs["observations"]
    for N in ds.depth.values:
        _, run = fz.singular_value_run(tuple(shape), rank, n_obs, int(N))
        s = ds.sigma.sel(depth=N).values
        s = s[~np.isnan(s[:, 0])]
        assert s.shape[0] == run.trajectory.sizes["t"]
        assert np.all(np.diff(s, axis=1) <= 0)  # sorted, largest first
        # the last row is the SVD of the trained predictor (numpy, from the run's end point)
        assert np.allclose(s[-1], np.linalg.svd(np.asarray(run.predictor).reshape(shape), compute_uv=False)[: s.shape[1]], rtol=1e-9, atol=1e-12)
        ht = ds.half_time.sel(depth=N).values
        assert np.all(np.diff(ht) > 0)


def test_razin_cohen_fig_dataset_holds_w11_and_norms_along_the_runs():
    ds = _run_quick("razin-cohen2020-fig").data
    for L in ds.depth.values:
        run, _ = fz.razin_cohen_trace(int(L), 1e-6)
        row = ds.sel(depth=L)
        keep = ~np.isnan(row.loss.values)
        W = np.asarray(run.predictor).reshape(2, 2)
        assert row.w11.values[keep][-1] == pytest.approx(abs(W[0, 0]), rel=1e-9)
        assert np.all(row.det.values[keep] > 0) and row.loss.values[keep][-1] <= 1e-6 * (1 + 1e-12)  # the stop's own round-off
        sv = np.linalg.svd(W, compute_uv=False)
        assert row.schatten_1.values[keep][-1] == pytest.approx(sv.sum(), rel=1e-9)
        assert row.schatten_inf.values[keep][-1] == pytest.approx(sv[0], rel=1e-9)


def test_razin2021_tensor_dataset_holds_component_norms_and_activation_times():
    ds = _run_quick("razin2021-tensor").data
    assert ds.sigma.dims == ("scale", "point", "component") and ds.attrs["order"] == 3
    first = ds.activation_time.values[:, 0]
    assert np.all(np.isfinite(first)) and np.all(np.diff(first) > 0)  # scales decreasing: later activation
    for s in ds.scale.values:
        sig = ds.sigma.sel(scale=s).values
        t = ds.time.sel(scale=s).values
        keep = ~np.isnan(t)
        # the recorded activation time is a recorded time at which the first component crossed 0.1 max sigma(end)
        thr = 0.1 * np.nanmax(sig[keep][-1])
        k = int(np.argmax(np.max(sig[keep], axis=1) > thr))
        assert t[keep][k] == ds.activation_time.sel(scale=s).values[0]


@pytest.mark.slow
def test_razin2021_tensor_rank_full_profile_at_the_issues_size():
    # issue 21 check 6 at its size: order 4, dimension 10, CP rank 5, 2000 observations (plus the smaller instances
    # and the observation-count check); the full profile: the paper-size instance alone took 2397 s on the shared machine
    res = runner.get("razin2021-tensor-rank").run("full")
    ids = {c.id: c for c in res.checks}
    assert "razin2021-tensor-rank/incremental-order4-dim10" in ids and "razin2021-tensor-rank/norm-ode-order4-dim10" in ids
    assert all(c.passed for c in res.checks), [(c.id, c.error, c.tolerance) for c in res.checks if not c.passed]
