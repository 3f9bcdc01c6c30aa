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
