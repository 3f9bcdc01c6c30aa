"""The README's Python example runs as written and prints what it says."""

import pathlib
import re


def test_readme_python_example_runs(capsys):
    text = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    ns = {}
    exec(compile(block, "README.md", "exec"), ns)
    out = capsys.readouterr().out.split()
    assert out[0] == "converged" and float(out[1]) < 1e-6


def test_readme_sweep_example_spans_the_kernel_to_rich_transition(tmp_path):
    # the fig71-small grid must show what the figure is about: the predicted limits (Q_k
    # interpolants, computed independently of training) go from a sparse, low-error solution at
    # the smallest scale to the min-l2-like one at the largest; the README's table is their
    # trained counterpart
    import numpy as np
    import yaml

    from implicit_bias import models
    from implicit_bias.config import build_data, load_sweep_config
    from implicit_bias.theory import diagonal_interpolant_batch

    text = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"```yaml\n# fig71-small.yaml\n(.*?)```", text, re.S).group(1)
    (tmp_path / "fig71-small.yaml").write_text(block)
    cfg = load_sweep_config(str(tmp_path / "fig71-small.yaml"))
    ds = build_data(cfg.data)
    grid = yaml.safe_load(block)["grid"]
    scales = np.array(grid["model.scale"], dtype=float)
    err = {}
    for s in (0.0, 0.9):
        sol = diagonal_interpolant_batch(ds.X, ds.y, models.Diagonal(ds.dim, depth=2, tied=False), scales, np.full(scales.size, s))
        err[s] = np.array([ds.population_error(w) for w in np.asarray(sol.w)])
    assert err[0.0][0] < 0.05 and err[0.0][-1] > 0.8  # rich at 1e-6, kernel at 1
    assert np.all(np.diff(err[0.0]) > 0)  # the error grows with the scale across the grid
    assert np.all(err[0.9] >= err[0.0] - 1e-12)  # a shape away from 0 acts as a larger scale
    table = {1e-6: (0.027, 0.023), 1e-4: (0.238, 0.049), 1e-3: (0.811, 0.247), 1.0: (0.914, 0.914)}
    for a, (e09, e0) in table.items():  # the README's trained numbers agree with the limits
        i = int(np.argmin(np.abs(scales - a)))
        assert abs(err[0.0][i] - e0) < 5e-3 and abs(err[0.9][i] - e09) < 5e-3, (a, err[0.0][i], err[0.9][i])
