"""Sweeps: grid expansion, the three backends (identical numbers), the store (cached points,
resume after SIGKILL), Dask with a lost worker, netCDF export."""

import importlib
import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import xarray as xr

import implicit_bias as ib
from implicit_bias.store import Store
from implicit_bias.sweep import SweepSummary, expand, load_sweep, local_cluster, sweep

CFG = {
    "name": "t",
    "data": {"generator": "sparse_regression", "n": 8, "d": 20, "sparsity": 2, "noise_var": 0.01, "seed": 0},
    "model": {"name": "diagonal", "depth": 2, "untied": True, "scale": 0.1, "shape": 0.0},
    "loss": "square",
    "algorithm": {"name": "gd", "lr": 0.05},
    "stop": {"loss": 1e-8, "max_steps": 20000},
    "record": ["predictor", "final_loss", "test_error", "status", "steps"],
    "grid": {"model.scale": [0.05, 0.5], "model.shape": [-0.5, 0.5]},
    "seeds": [0, 1],
}


def test_expand_grid_zip_and_seeds():
    cfg = dict(CFG, zip=[{"algorithm.lr": [0.05, 0.02], "data.seed": [0, 1]}])
    axes, points = expand(cfg)
    assert [a for a, _ in axes] == ["model.scale", "model.shape", "algorithm.lr+data.seed", "seed"]
    assert len(points) == 2 * 2 * 2 * 2
    idx, run = points[-1]
    assert idx == (1, 1, 1, 1)
    assert run["model"]["scale"] == 0.5 and run["algorithm"]["lr"] == 0.02 and run["data"]["seed"] == 1 and run["seed"] == 1


def test_sweep_dataset_and_cache(tmp_path):
    s1 = SweepSummary()
    ds = sweep(CFG, store=tmp_path, progress=False, summary=s1)
    assert dict(ds.sizes) == {"model.scale": 2, "model.shape": 2, "seed": 2, "dim": 20}
    assert (ds.status == "converged").all()
    assert ds.predictor.dtype == np.float64
    # the sweep's points equal single training runs (independent route: ib.train)
    run = ib.train(ib.models.Diagonal(20, depth=2, tied=False, scale=0.5, shape=-0.5), ib.data.sparse_regression(n=8, d=20, sparsity=2, noise_var=0.01, seed=0), "square", ib.GradientDescent(lr=0.05), ib.Stop(loss=1e-8, max_steps=20000))
    np.testing.assert_allclose(ds.predictor.sel({"model.scale": 0.5, "model.shape": -0.5, "seed": 0}).values, run.predictor, rtol=1e-10, atol=1e-14)
    assert s1.done == 8 and s1.cached == 0
    s2 = SweepSummary()
    ds2 = sweep(CFG, store=tmp_path, progress=False, summary=s2)
    assert s2.done == 0 and s2.cached == 8
    xr.testing.assert_identical(ds, ds2)
    xr.testing.assert_identical(ds, load_sweep("t", tmp_path))


def test_backends_give_identical_numbers(tmp_path):
    a = sweep(CFG, backend="vmap", store=tmp_path / "a", progress=False, batch=4)
    b = sweep(CFG, backend="local", store=tmp_path / "b", workers=2, progress=False, batch=4)
    c = sweep(CFG, backend="dask", store=tmp_path / "c", workers=2, progress=False, batch=4)
    for other in (b, c):
        for v in ("predictor", "final_loss", "test_error", "steps"):
            np.testing.assert_array_equal(a[v].values, other[v].values)
        assert other.predictor.dtype == np.float64
        assert (other.status.values == a.status.values).all()


def test_dask_local_cluster_listens_on_loopback_only():
    cluster = local_cluster(1)
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        for w in cluster.scheduler_info["workers"]:
            assert w.startswith("tcp://127.0.0.1:")
    finally:
        cluster.close()


def test_dask_sweep_survives_a_killed_worker(tmp_path):
    from dask.distributed import Client

    cfg = dict(CFG, grid={"model.scale": [0.05, 0.1, 0.2, 0.5, 1.0, 2.0], "model.shape": [-0.5, 0.0, 0.5]})
    cluster = local_cluster(2)
    client = Client(cluster)
    store = Store(tmp_path)
    killed = []

    def killer():
        # wait until the sweep has written some points, then SIGKILL one worker process
        t0 = time.time()
        while time.time() - t0 < 60 and len(store.entries()) < 2:
            time.sleep(0.05)
        pids = client.run(os.getpid)
        pid = sorted(pids.values())[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    try:
        summ = SweepSummary()
        ds = sweep(cfg, backend="dask", scheduler=cluster.scheduler_address, store=store, batch=1, progress=False, summary=summ)
    finally:
        th.join(timeout=5)
        client.close()
        cluster.close()
    assert killed, "the worker was not killed"
    assert not summ.failed, summ.failed
    assert (ds.status == "converged").all() and ds.predictor.notnull().all()


SCRIPT = """
import sys
from implicit_bias.sweep import sweep
if __name__ == "__main__":  # process pools spawn: the main module must be import-safe
    sweep(sys.argv[1], backend="local", workers=2, store=sys.argv[2], batch=1, progress=False)
"""


def test_sigkill_and_resume_is_bit_identical(tmp_path):
    import yaml

    cfg = dict(CFG, name="k", grid={"model.scale": [0.02, 0.05, 0.1, 0.2, 0.5, 1.0], "model.shape": [-0.5, 0.0, 0.5]})
    path = tmp_path / "k.yaml"
    path.write_text(yaml.safe_dump(cfg))
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    interrupted = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(interrupted)], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    st = Store(interrupted)
    target = random.Random(0).randint(2, 20)
    t0 = time.time()
    while time.time() - t0 < 120 and len(st.entries()) < target and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the main process and its pool workers
    proc.wait()
    n_before = len(st.entries())
    assert 0 < n_before < 36, n_before
    # every entry the store reports is complete and readable
    for e in st.entries():
        r = st.get(e["key"])
        assert r.arrays["predictor"][1].shape == (20,)
    resumed = sweep(path, backend="local", workers=2, store=interrupted, batch=1, progress=False)
    clean = sweep(path, backend="local", workers=2, store=tmp_path / "clean", batch=1, progress=False)
    xr.testing.assert_identical(resumed.drop_attrs(), clean.drop_attrs())


def test_netcdf_export_via_cli(tmp_path):
    sweep(CFG, store=tmp_path / "s", progress=False)
    out = tmp_path / "t.nc"
    p = subprocess.run([sys.executable, "-m", "implicit_bias.cli", "runs", "export", "t", "--out", str(out), "--store", str(tmp_path / "s")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    ds = xr.open_dataset(out)
    assert ds.predictor.shape == (2, 2, 2, 20)


def test_sweep_cli_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndata: {generator: sparse_regression}\nmodel: {sclae: 1}\n")
    p = subprocess.run([sys.executable, "-m", "implicit_bias.cli", "sweep", str(bad), "--store", str(tmp_path / "s")], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown field 'model.sclae'" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = subprocess.run([sys.executable, "-m", "implicit_bias.cli", "sweep", str(bad), "--backend", "spark"], capture_output=True, text=True)
    assert p.returncode == 2


# ----------------------------------------------------------------- issue 20: lazy grids


BIG = dict(CFG, name="big", grid={"model.scale": [0.01 * (i + 1) for i in range(1000)], "algorithm.lr": [1e-4 * (i + 1) for i in range(1000)]}, seeds=[0])


def test_huge_grid_is_counted_and_refused_quickly_in_bounded_memory(tmp_path):
    import tracemalloc

    from implicit_bias.sweep import count_points

    tracemalloc.start()
    t0 = time.perf_counter()
    assert count_points(BIG) == 10**6
    with pytest.raises(ValueError) as e:
        sweep(BIG, store=tmp_path / "s", progress=False)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    msg = str(e.value)
    assert "1,000,000 points" in msg and "--max-points 1000000" in msg and "\n" not in msg
    assert elapsed < 2.0, elapsed
    assert peak < 50e6, peak
    assert not (tmp_path / "s").exists()  # refused before any work


def test_huge_grid_first_batch_starts_promptly():
    from implicit_bias.sweep import iter_batches

    t0 = time.perf_counter()
    first = next(iter_batches(BIG, batch=32))
    assert time.perf_counter() - t0 < 10.0
    assert [i for i, _ in first] == list(range(32))
    assert first[1][1]["algorithm"]["lr"] == 2e-4 and first[0][1]["model"]["scale"] == 0.01


def test_lazy_batches_have_the_eager_partition():
    from implicit_bias.sweep import iter_batches

    cfg = dict(CFG, grid={"model.scale": [0.05, 0.5, 1.0], "model.depth": [2, 3]}, seeds=[0, 1, 2])
    _, points = expand(cfg)
    got = [[i for i, _ in b] for b in iter_batches(cfg, batch=4)]
    assert sorted(i for b in got for i in b) == list(range(len(points)))
    for b in got:
        assert len(b) <= 4 and len({points[i][1]["model"]["depth"] for i in b}) == 1
    # the same partition as grouping all points by structure and cutting each group into 4s
    groups = {}
    for i, (_, r) in enumerate(points):
        groups.setdefault(r["model"]["depth"], []).append(i)
    eager = [g[s : s + 4] for g in groups.values() for s in range(0, len(g), 4)]
    assert sorted(got) == sorted(eager)


def test_sweep_cli_prints_the_count_and_refuses_a_huge_grid(tmp_path):
    import yaml

    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(BIG))
    p = subprocess.run([sys.executable, "-m", "implicit_bias.cli", "sweep", str(path), "--store", str(tmp_path / "s")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "sweep big: 1,000,000 points (1000 algorithm.lr x 1000 model.scale x 1 seed)" in p.stdout  # (yaml sorts keys)
    assert len(p.stderr.strip().splitlines()) == 1 and "--max-points 1000000" in p.stderr


# ----------------------------------------------------------- issue 20: up-front validation


@pytest.mark.parametrize(
    "patch, fragment",
    [
        ({"grid": {"model.scale": [0.1, -0.01]}}, "model.scale = -0.01: model.scale: model.scale must be > 0"),
        ({"grid": {"model.shape": [0.0, 1.0]}}, "model.shape = 1.0: model.shape: model.shape must lie in (-1, 1)"),
        ({"grid": {"data.n": [8, 0]}}, "data.n = 0: data.n: data.n must be >= 1"),
        ({"grid": {"loss": ["square", "squared"]}}, "loss = 'squared': loss: unknown loss 'squared'"),
        ({"zip": [{"model.depth": [2, 3], "algorithm.lr": [0.05, -0.01]}]}, "algorithm.lr must be a finite number > 0"),
    ],
)
def test_grid_values_are_validated_before_the_first_point(tmp_path, patch, fragment, monkeypatch):
    sw = sys.modules["implicit_bias.sweep"]  # (ib.sweep is the function)

    def boom(*a, **k):
        raise AssertionError("a point ran before validation")

    monkeypatch.setattr(sw, "run_batch", boom)
    with pytest.raises(ValueError) as e:
        sweep(dict(CFG, **patch), store=tmp_path / "s", progress=False)
    assert fragment in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert not (tmp_path / "s").exists()


def test_validation_is_per_axis_value_so_huge_grids_stay_cheap():
    from implicit_bias.sweep import validate_grid

    bad = dict(BIG, grid={**BIG["grid"], "model.scale": BIG["grid"]["model.scale"][:-1] + [-1.0]})
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="model.scale = -1.0"):
        validate_grid(bad)
    assert time.perf_counter() - t0 < 2.0


def test_sweep_cli_bad_grid_value_one_line_exit_2(tmp_path):
    import yaml

    path = tmp_path / "neg.yaml"
    path.write_text(yaml.safe_dump(dict(CFG, grid={"model.scale": [0.1, -0.01]})))
    p = subprocess.run([sys.executable, "-m", "implicit_bias.cli", "sweep", str(path), "--store", str(tmp_path / "s")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1 and "model.scale must be > 0" in p.stderr
    assert "received array" not in p.stdout + p.stderr


# ---------------------------------------------------------------- issue 20: sweep identity


def test_same_name_different_config_is_refused_and_replace_is_deliberate(tmp_path):
    small = dict(CFG, grid={"model.scale": [0.05]}, seeds=[0])
    sweep(small, store=tmp_path, progress=False)
    sweep(small, store=tmp_path, progress=False)  # the same config again: a resume, fine
    other = dict(small, grid={"model.scale": [0.5]})
    with pytest.raises(ValueError) as e:
        sweep(other, store=tmp_path, progress=False)
    msg = str(e.value)
    assert "sweep t already exists" in msg and "grid differ" in msg and "new name" in msg and "--replace" in msg and "\n" not in msg
    assert load_sweep("t", tmp_path)["model.scale"].values.tolist() == [0.05]  # untouched
    ds = sweep(other, store=tmp_path, progress=False, replace=True)
    assert load_sweep("t", tmp_path)["model.scale"].values.tolist() == [0.5] == ds["model.scale"].values.tolist()
    assert len(Store(tmp_path).entries()) == 2  # the replaced sweep's point stays in the store


def test_sweep_cli_name_clash_one_line_exit_2(tmp_path):
    import yaml

    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump(dict(CFG, grid={"model.scale": [0.05]}, seeds=[0])))
    b.write_text(yaml.safe_dump(dict(CFG, grid={"model.scale": [0.5]}, seeds=[0])))
    Store(tmp_path / "s").put_sweep("t", {"config": sys.modules["implicit_bias.config"].load_sweep_config(str(a)).model_dump(), "keys": []})
    p = subprocess.run([sys.executable, "-m", "implicit_bias.cli", "sweep", str(b), "--store", str(tmp_path / "s"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "--replace" in p.stderr, p.stderr


# ---------------------------------------- issue 20: diverged points and one status vocabulary


DIVERGE = dict(CFG, name="dv", algorithm={"name": "gd", "lr": 50.0}, stop={"loss": 1e-8, "max_steps": 2000}, record=["predictor", "final_loss", "log_loss", "training_accuracy", "status"], grid={"model.scale": [0.5, 1.0]}, seeds=[0])


def test_diverged_points_keep_their_nonfinite_loss_and_one_status_vocabulary(tmp_path):
    import json
    import warnings

    from typer.testing import CliRunner

    from implicit_bias._cli_runs import runs_app

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ds = sweep(DIVERGE, store=tmp_path / "s", progress=False)
    assert (ds.status == "diverged").all()
    fl = ds.final_loss.values
    assert not (fl == 0.0).any() and not np.isfinite(fl).any(), fl  # never 0.0 (a "perfect" fit)
    assert not np.isfinite(ds.log_loss.values).any() and not (ds.log_loss.values == -np.inf).any()
    r = CliRunner()
    ls = json.loads(r.invoke(runs_app, ["ls", "--store", str(tmp_path / "s"), "--json"]).output)
    show = json.loads(r.invoke(runs_app, ["show", "dv", "--store", str(tmp_path / "s"), "--json"]).output)
    out = tmp_path / "dv.nc"
    res = r.invoke(runs_app, ["export", "dv", "--out", str(out), "--store", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    with xr.open_dataset(out) as exported:
        assert exported.status.values.ravel().tolist() == ["diverged", "diverged"]
        assert not (exported.final_loss.values == 0).any()
    assert ls["sweeps"][0]["status"] == show["status"] == {"diverged": 2}


def test_population_error_of_a_diverged_predictor_warns_nothing():
    import warnings

    d = ib.data.sparse_regression(n=8, d=20, sparsity=2, noise_var=0.01, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert d.population_error(np.full(20, 1e200)) == np.inf


def test_points_without_a_result_are_pending_not_failed(tmp_path):
    ds = sweep(dict(CFG, grid={"model.scale": [0.05]}, seeds=[0, 1]), store=tmp_path, progress=False)
    st = Store(tmp_path)
    st.remove(st.entries()[0]["key"])
    assert sorted(load_sweep("t", tmp_path).status.values.ravel().tolist()) == ["converged", "pending"]
    assert (ds.status == "converged").all()


# ------------------------------------------------------------ issue 20: exports never lie


def _export(store, *extra):
    from typer.testing import CliRunner

    from implicit_bias._cli_runs import runs_app

    return CliRunner().invoke(runs_app, ["export", "t", "--out", str(store / "t.nc"), "--store", str(store), *extra])


def test_export_refuses_missing_and_damaged_points_unless_allow_partial(tmp_path):
    cfg = dict(CFG, grid={"model.scale": [0.05, 0.5]}, seeds=[0, 1])
    sweep(cfg, store=tmp_path, progress=False, batch=1)  # one zip and one index record per point
    st = Store(tmp_path)
    keys = st.get_sweep("t")["keys"]
    st.remove(keys[0])  # missing
    log = tmp_path / "index.log"
    lines = [ln if keys[1] not in ln else ln[:60] + "\n" for ln in log.read_text().splitlines(keepends=True)]
    log.write_text("".join(lines))  # keys[1]'s index record torn (its batch id still readable)
    open(st.location(keys[2])[0], "r+b").truncate(50)  # keys[2]'s zip truncated
    st = Store(tmp_path)
    assert [st.state(k) for k in keys] == ["missing", "damaged", "damaged", "present"]
    assert st.damaged() == sorted(keys[1:3])
    res = _export(tmp_path)
    assert isinstance(res.exception, ValueError)
    msg = str(res.exception)
    assert "1 missing, 2 damaged, 0 failed of 4 points" in msg and "--allow-partial" in msg and "\n" not in msg
    assert not (tmp_path / "t.nc").exists()
    assert sorted(load_sweep("t", tmp_path).status.values.ravel().tolist()) == ["converged", "damaged", "damaged", "pending"]
    res = _export(tmp_path, "--allow-partial")
    assert res.exit_code == 0, res.output
    # runs show reports them too (not silently dropped)
    from typer.testing import CliRunner

    from implicit_bias._cli_runs import runs_app

    import json

    show = json.loads(CliRunner().invoke(runs_app, ["show", "t", "--store", str(tmp_path), "--json"]).output)
    assert show["status"] == {"converged": 1, "damaged": 2, "pending": 1}
    # resuming recomputes the missing and damaged points; then the export is complete
    s = SweepSummary()
    sweep(cfg, store=tmp_path, progress=False, summary=s)
    assert (s.done, s.cached) == (3, 1)
    assert _export(tmp_path).exit_code == 0


# ------------------------------------------------- issue 20: interrupts and remote failures


def test_unreachable_scheduler_one_line_exit_2_within_the_timeout(tmp_path):
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(dict(CFG, grid={"model.scale": [0.05]}, seeds=[0])))
    t0 = time.time()
    p = subprocess.run([sys.executable, "-m", "implicit_bias.cli", "sweep", str(path), "--backend", "dask", "--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "3", "--store", str(tmp_path / "s"), "--quiet"], capture_output=True, text=True, timeout=120)
    elapsed = time.time() - t0
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:1 within 3 s" in lines[0], p.stderr
    assert elapsed < 3 + 30, elapsed  # the timeout plus the interpreter's start-up
    assert not (tmp_path / "s" / "sweeps").exists()  # nothing written


@pytest.fixture
def default_sigint():
    """Python's own Ctrl-C handling in this process for the test (a user's fresh process has it;
    an earlier test in the same worker may have left SIGINT changed, e.g. ignored, which a
    subprocess would inherit)."""
    prev = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, prev)


def test_ctrl_c_one_line_exit_130_never_swallowed(tmp_path, default_sigint):
    import yaml

    cfg = dict(CFG, name="c", grid={"model.scale": [0.02 * (i + 1) for i in range(40)]}, seeds=[0], stop={"loss": 1e-14, "max_steps": 20000})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "implicit_bias.cli", "sweep", str(path), "--store", str(tmp_path / "s"), "--batch", "1", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    st = Store(tmp_path / "s")
    t0 = time.time()
    while time.time() - t0 < 120 and len(st.entries()) < 1 and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 130, (out, err)
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err, err
    n = len(st.entries())
    assert 0 < n < 40
    for e in st.entries():  # nothing partial
        assert st.state(e["key"]) == "present"


def test_an_interrupt_swallowed_inside_a_batch_still_stops_the_sweep(tmp_path, monkeypatch, default_sigint):
    sw = sys.modules["implicit_bias.sweep"]
    real = sw.run_batch

    def swallowing(runs):  # what a JAX host callback does with a KeyboardInterrupt
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass
        return real(runs)

    monkeypatch.setattr(sw, "run_batch", swallowing)
    with pytest.raises(KeyboardInterrupt):
        sweep(dict(CFG, grid={"model.scale": [0.05, 0.5]}, seeds=[0]), store=tmp_path, batch=1, progress=False)
    assert Store(tmp_path).entries() == []  # the interrupted batch is not written


# ------------------------------------------------------------ issue 20: concurrent sweeps

TWO = """
import importlib
import json, sys
from implicit_bias.sweep import SweepSummary, sweep
s = SweepSummary()
ds = sweep(sys.argv[1], store=sys.argv[2], batch=1, progress=False, summary=s)
print(json.dumps({"done": s.done, "cached": s.cached, "failed": len(s.failed), "loss": ds.final_loss.values.ravel().tolist()}))
"""


def test_two_sweeps_into_one_store_never_compute_a_point_twice(tmp_path):
    import json

    import yaml

    cfg = dict(CFG, name="two", grid={"model.scale": [0.02 * (i + 1) for i in range(12)]}, seeds=[0])
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(cfg))
    script = tmp_path / "two.py"
    script.write_text(TWO)
    procs = [subprocess.Popen([sys.executable, str(script), str(path), str(tmp_path / "s")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(o["done"] for o in outs) == 12, outs  # each point computed once
    assert all(o["done"] + o["cached"] == 12 and o["failed"] == 0 for o in outs), outs
    assert outs[0]["loss"] == outs[1]["loss"]  # both return the whole sweep
    assert not any((tmp_path / "s" / "claims").iterdir())  # every claim released


def test_a_dead_sweeps_claim_does_not_block(tmp_path):
    from implicit_bias.store import HOST_TAG

    st = Store(tmp_path)
    (tmp_path / "claims").mkdir()
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout)
    (tmp_path / "claims" / "k1").write_text('{"host": "%s", "pid": %d, "time": 0}' % (HOST_TAG, dead))
    assert not st.claimed("k1")
    assert st.claim("k1") is True  # taken over from the dead writer
    assert st.claim("k1") is False  # held (by this process)
    st.release("k1")
    assert not (tmp_path / "claims" / "k1").exists()


# ------------------------------------------------------- issue 20: determinism, stated exactly


def test_rm_and_resume_recomputes_a_point_in_its_recorded_batch(tmp_path):
    """issue 20 item 8: a point removed (``runs rm``) and recomputed equals its stored value bit
    for bit: it is recomputed in the batch the store recorded for it, whatever --batch is now."""
    from implicit_bias.sweep import plan_batches

    ds = sweep(CFG, store=tmp_path, progress=False, batch=4)
    st = Store(tmp_path)
    keys = st.get_sweep("t")["keys"]
    assert st.batch_keys(keys[5]) == keys[4:8]  # one structure: the grid cut into 4s, in order
    for new_batch in (4, 3):
        assert st.remove(keys[5])
        s = SweepSummary()
        again = sweep(CFG, store=tmp_path, progress=False, batch=new_batch, summary=s)
        assert (s.done, s.cached) == (1, 7)
        xr.testing.assert_identical(ds, again)
    st.remove(keys[5])
    (call,) = list(plan_batches(CFG, 3, keys, {5}, st))  # the recorded call, only point 5 written
    assert [(i, w) for i, _, w in call] == [(4, False), (5, True), (6, False), (7, False)]
    # a point the store has no record of runs in its batch of the whole grid's partition
    assert [[(i, w) for i, _, w in b] for b in plan_batches(CFG, 3, keys, {5}, None)] == [[(3, False), (4, False), (5, True)]]


def test_a_resumed_sweep_runs_the_batches_of_an_uninterrupted_one():
    from implicit_bias.sweep import iter_batches, plan_batches

    keys = [str(i) for i in range(8)]
    whole = [[i for i, _ in b] for b in iter_batches(CFG, 3)]
    assert whole == [[0, 1, 2], [3, 4, 5], [6, 7]]
    # points 0-3 done before an interruption: 4..7 are computed in the calls [3, 4, 5] and [6, 7]
    assert [[(i, w) for i, _, w in b] for b in plan_batches(CFG, 3, keys, {4, 5, 6, 7})] == [[(3, False), (4, True), (5, True)], [(6, True), (7, True)]]


@pytest.mark.slow
def test_ctrl_c_stops_inside_a_long_batch_between_steps(tmp_path):
    """issue 20 item 9: Ctrl-C is seen between steps (every INTERRUPT_STEPS), not at the end of
    the batch, nor only every 20,000 steps (train's own segments): with ~1 ms per step (d = 10^4)
    a batch of 10^8 steps would run for hours and 20,000 steps for ~20 s or more; it stops within
    seconds, writes nothing, one line, exit 130. (Slow: an interpreter start-up with JAX; the
    bound allows for a loaded machine.)"""
    import yaml

    data = {"generator": "sparse_regression", "n": 200, "d": 10_000, "sparsity": 5, "noise_var": 0.01, "seed": 0}
    cfg = dict(CFG, name="long", data=data, grid={"model.scale": [0.05]}, seeds=[0], stop={"loss": 1e-300, "max_steps": 100_000_000})
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "implicit_bias.cli", "sweep", str(path), "--store", str(tmp_path / "s"), "--batch", "1", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "sweep long: 1 point" in proc.stdout.readline()  # started
        claims = tmp_path / "s" / "claims"
        t0 = time.time()
        while time.time() - t0 < 60 and not (claims.exists() and any(claims.iterdir())):
            time.sleep(0.05)  # the point is claimed just before its batch starts
        time.sleep(8.0)  # data, compilation (a few seconds), then training: inside the batch
        assert proc.poll() is None
        t0 = time.time()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
        elapsed = time.time() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert elapsed < 15, elapsed  # the batch alone would run for hours, 20,000 of its steps ~20 s or more
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err, err
    assert Store(tmp_path / "s").entries() == []  # nothing partial


def test_sweep_eta_from_measured_rates():
    sw = importlib.import_module("implicit_bias.sweep")  # the module (ib.sweep is the function)

    # issue 19 item 12: 240 points, batches of 32; the first batch took 19 s (compilation included)
    assert sw.sweep_eta(208, 0, 5.0) is None  # nothing measured yet
    assert sw.sweep_eta(208, 32, 19.0, (32, 19.0)) == pytest.approx(208 * 19.0 / 32)  # the overall rate: an upper bound
    assert sw.sweep_eta(176, 64, 21.0, (32, 19.0)) == pytest.approx(176 / 16.0)  # 32 points in 2 s since the first batch
    assert sw.sweep_eta(10, 20, 4.0) == pytest.approx(2.0)


def test_sweep_bar_shows_a_compile_phase_then_an_eta_from_measured_rates(monkeypatch):
    sw = importlib.import_module("implicit_bias.sweep")  # the module (ib.sweep is the function)

    now = [0.0]
    monkeypatch.setattr(sw.time, "perf_counter", lambda: now[0])
    bar = sw.SweepProgress(True, 240, 0)
    try:
        fields = bar.p.tasks[0].fields
        assert sw.SWEEP_COMPILING in fields["info"] and fields["eta"] == "ETA -"
        now[0] = 19.0
        bar.advance(32)  # the whole first batch at once: rich's own estimate said 0:00:01 here
        fields = bar.p.tasks[0].fields
        assert sw.SWEEP_COMPILING not in fields["info"] and fields["eta"] == "ETA 0:02:04"  # 208 * 19 / 32 = 123.5 s
        now[0] = 21.0
        bar.advance(32, failed=True)
        fields = bar.p.tasks[0].fields
        assert fields["eta"] == "ETA 0:00:11" and "32 failed" in fields["info"] and bar.p.tasks[0].completed == 64
    finally:
        bar.close()
