"""The documentation site builds in strict mode, and its pages say what the code does."""

from __future__ import annotations

import html as html_lib
import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API_PAGES = ("train", "models", "algorithms", "losses", "data", "potentials", "theory", "diagnostics", "registry", "report")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs") / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_mkdocs_build_strict(site):
    assert (site / "index.html").exists()
    train = (site / "api" / "train.html").read_text(encoding="utf-8")
    assert "Stop" in train
    assert "training_accuracy" in train and "max_steps" in train  # Stop's documented arguments


def test_every_api_page_renders_its_module(site):
    for page in API_PAGES:
        html = (site / "api" / f"{page}.html").read_text(encoding="utf-8")
        module = "implicit_bias.experiments.registry" if page == "registry" else f"implicit_bias.{page}"
        assert f'id="{module}"' in html, f"{page}: {module} not rendered"
        assert ":::" not in _text(html), f"{page}: an unrendered mkdocstrings directive"
    # eqx.Module fields appear as constructor signatures (docs/griffe_ibias.py)
    models = re.sub(r"\s+", " ", html_lib.unescape(_text((site / "api" / "models.html").read_text(encoding="utf-8"))))
    assert "Linear(dim, w0=None)" in models
    algorithms = re.sub(r"\s+", " ", html_lib.unescape(_text((site / "api" / "algorithms.html").read_text(encoding="utf-8"))))
    assert "MirrorDescent(lr=0.1, potential='quadratic')" in algorithms
    for page in API_PAGES:  # Sphinx roles and directives were converted to Markdown
        text = _text((site / "api" / f"{page}.html").read_text(encoding="utf-8"))
        assert ":func:`" not in text and ":class:`" not in text and ".. math::" not in text, page


def test_tutorial_page_is_rendered_from_the_script(site):
    html = (site / "tutorial.html").read_text(encoding="utf-8")
    text = _text(html)
    assert "Tutorial: from data to a checked prediction" in text
    for needle in ("min_distance_interpolant", "bregman_interpolant", "max_margin", "run_cls.trajectory", "implicit_bias.cli"):
        assert needle in text, needle
    assert not re.search(r"^\s*# %%", text, re.M), "cell markers leaked into the page"


def test_percent_to_markdown():
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", DOCS / "mkdocs_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    md = hooks.percent_to_markdown("# ---\n# jupyter: {}\n# ---\n\n# %% [markdown]\n# # Title\n#\n# Text.\n\n# %%\nx = 1\n\n# %%\n\n")
    assert md == "# Title\n\nText.\n\n```python\nx = 1\n```\n"


def test_quickstart_python_example_runs(capsys):
    text = (DOCS / "quickstart.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    exec(compile(block, "docs/quickstart.md", "exec"), {})
    out = capsys.readouterr().out.split()
    assert out[0] == "converged" and float(out[1]) < 1e-6


def test_docs_griffe_extension_normalizes_docstrings():
    spec = importlib.util.spec_from_file_location("griffe_ibias", DOCS / "griffe_ibias.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    src = "See :func:`train` and :class:`~implicit_bias.train.Run`.\n\n.. math:: a = b\n    + c\n\nExample:\n    >>> 1\n    1\n"
    out = ext.normalize_docstring(src)
    assert "`train`" in out and "`Run`" in out and ":func:" not in out
    assert "```text\na = b\n+ c\n```" in out
    assert "\nExamples:\n" in out


def test_contract_page_ships_and_nothing_points_outside_the_package(site):
    # the README and the help texts point to the contract page, not to a file outside the repository
    page = _text((site / "contract.html").read_text())
    for field in ("status", "final.loss", "final.log_loss", "final.training_accuracy", "final.steps", "final.time", "predictor", "params", "outputs_eval", "relative_error", "cosine", "sharpness", "wall_time", "message"):
        assert field in page, field
    assert "-log L" in page and "max_wall_time" in page and "u_plus" in page and "grid:" in page
    from implicit_bias import cli

    for text in ((ROOT / "README.md").read_text(), pathlib.Path(cli.__file__).read_text()):
        assert "DESIGN.md" not in text and "../shared" not in text
    assert "docs/contract.md" in (ROOT / "README.md").read_text()


def _blocks(page: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), re.S)


def test_sweeps_page_yaml_examples_validate_and_name_every_config_field(tmp_path):
    from implicit_bias import config as cfgmod

    text = (DOCS / "sweeps.md").read_text(encoding="utf-8")
    for i, block in enumerate(_blocks("sweeps.md", "yaml")):
        (tmp_path / f"b{i}.yaml").write_text(block)
        cfgmod.load_sweep_config(str(tmp_path / f"b{i}.yaml"))  # raises on an invalid example
    for model in (cfgmod.SweepConfig, cfgmod.DataConfig, cfgmod.ModelConfig, cfgmod.AlgorithmConfig, cfgmod.StopConfig):
        missing = [f for f in model.model_fields if f"`{f}`" not in text]
        assert not missing, f"docs/sweeps.md does not describe {model.__name__} field(s) {missing}"
    for name in cfgmod.MODEL_NAMES + cfgmod.ALGORITHM_NAMES + cfgmod.RECORDABLE:
        assert f"`{name}`" in text, f"docs/sweeps.md does not name {name!r}"


def test_sweeps_page_python_example_prints_what_the_page_says(tmp_path, capsys):
    block = _blocks("sweeps.md", "python")[0]
    exec(compile(block, "docs/sweeps.md", "exec"), {"STORE": str(tmp_path / "store")})
    printed = capsys.readouterr().out.strip()
    claimed = re.search(r"prints `(.*?)`", (DOCS / "sweeps.md").read_text(encoding="utf-8")).group(1)
    assert printed == claimed


def _cli_leaves():
    """``(["fit"], command)``, ``(["runs", "ls"], command)``, ... for every command of ``ibias``."""
    import typer.main

    from implicit_bias import cli

    out = []

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, path + [name])
        else:
            out.append((path, cmd))

    walk(typer.main.get_command(cli.app), [])
    return out


def test_cli_page_names_every_command_and_option():
    # docs/cli.md is the CLI's page: each command has its section, naming each of its options
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    sections = {m.group(1).strip(): m.group(2) for m in re.finditer(r"^## `ibias ([a-z ]+)[^\n]*\n(.*?)(?=^## |\Z)", text, re.S | re.M)}
    leaves = _cli_leaves()
    assert len(leaves) >= 11
    for path, cmd in leaves:
        name = " ".join(path)
        sec = sections.get(name) or sections.get(path[0])
        assert sec is not None, f"docs/cli.md has no section for `ibias {name}`"
        if len(path) > 1:
            assert f"ibias {name}" in sec, f"docs/cli.md does not describe `ibias {name}`"
        for p in cmd.params:
            if getattr(p, "param_type_name", "") != "option":
                continue
            for opt in p.opts + p.secondary_opts:
                assert re.search(re.escape(opt) + r"(?![a-z-])", sec), f"docs/cli.md: `ibias {name}` does not name its option {opt}"


def test_cli_page_first_session_runs(tmp_path, monkeypatch, capsys):
    # the page's first bash block, command by command, through the program's entry point
    import shlex

    import numpy as np

    from implicit_bias import cli
    from implicit_bias.data import random_regression

    ds = random_regression(n=10, d=30, seed=0)
    np.savez(tmp_path / "data.npz", X=ds.X, y=ds.y)
    monkeypatch.chdir(tmp_path)
    lines = [ln for ln in _blocks("cli.md", "bash")[0].splitlines() if ln.strip()]
    assert len(lines) >= 3
    for line in lines:
        args = shlex.split(line)
        assert args[0] == "ibias"
        with pytest.raises(SystemExit) as e:
            cli.main(args[1:])
        out = capsys.readouterr()
        assert e.value.code in (0, None), (line, out.err)
        if "--json" in args:
            import json

            assert json.loads(out.out)["status"] == "converged", line
