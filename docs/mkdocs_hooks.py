"""MkDocs hooks: render ``docs/tutorial.py`` (jupytext percent format) as the tutorial page.

The tutorial has one source, the runnable script that ``tests/test_tutorial.py`` executes;
``docs/tutorial.md`` only carries a note about it. At build time the script's
``# %% [markdown]`` cells become Markdown and its ``# %%`` code cells become fenced Python
blocks, so the page can never drift from the code that is tested.
"""

from __future__ import annotations

import os
import re

TUTORIAL_PAGE = "tutorial.md"
TUTORIAL_SOURCE = "tutorial.py"

_CELL = re.compile(r"^# %%(?P<rest>.*)$")


def percent_to_markdown(source: str) -> str:
    """Markdown for a jupytext percent script (header skipped, code cells fenced)."""
    lines = source.splitlines()
    # jupytext's YAML header: a leading block of comment lines between "# ---" markers
    if lines and lines[0].strip() == "# ---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "# ---":
                lines = lines[i + 1 :]
                break
    cells, kind, buf = [], "code", []
    for line in lines:
        m = _CELL.match(line)
        if m:
            cells.append((kind, buf))
            kind = "markdown" if "[markdown]" in m.group("rest") else "code"
            buf = []
        else:
            buf.append(line)
    cells.append((kind, buf))
    out = []
    for kind, buf in cells:
        while buf and not buf[0].strip():
            buf = buf[1:]
        while buf and not buf[-1].strip():
            buf = buf[:-1]
        if not buf:
            continue
        if kind == "markdown":
            out.append("\n".join(re.sub(r"^# ?", "", ln) if ln.startswith("#") else ln for ln in buf))
        else:
            out.append("```python\n" + "\n".join(buf) + "\n```")
    return "\n\n".join(out) + "\n"


def on_page_read_source(page, config, **kwargs):
    if page.file.src_uri != TUTORIAL_PAGE:
        return None
    docs_dir = config["docs_dir"]
    with open(os.path.join(docs_dir, TUTORIAL_SOURCE), encoding="utf-8") as fh:
        body = percent_to_markdown(fh.read())
    with open(os.path.join(docs_dir, TUTORIAL_PAGE), encoding="utf-8") as fh:
        note = fh.read()
    # the stub's text (without its title) becomes a note under the tutorial's own title
    note = re.sub(r"^#\s.*\n+", "", note).strip()
    note = "!!! note\n" + "\n".join("    " + ln if ln.strip() else "" for ln in note.splitlines())
    head, sep, rest = body.partition("\n")
    if head.startswith("# "):
        return f"{head}\n\n{note}\n{sep}{rest}"
    return f"{note}\n\n{body}"
