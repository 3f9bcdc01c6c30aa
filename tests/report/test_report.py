"""The HTML report: content from a synthetic results folder, and a real page in a real browser.

The browser test drives Debian's Chromium (``/usr/bin/chromium``, installed by ``make test`` /
``make system-deps``) through Playwright; it never runs ``playwright install``.
"""

from __future__ import annotations

import html.parser
import json
import os
import pathlib
import re

import pytest

from implicit_bias import __version__
from implicit_bias.report import DEPENDENCIES, build_report

REPO = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Balance(html.parser.HTMLParser):
    """Checks that every non-void element is closed, in order (a well-formedness check)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.ids, self.doctype = [], [], [], None
        self.srcs, self.hrefs, self.imgs, self.scripts = [], [], [], 0

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if "src" in a:
            self.srcs.append(a["src"])
        if "href" in a:
            self.hrefs.append(a["href"])
        if tag == "img":
            self.imgs.append(a)
        if tag == "script":
            self.scripts += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'} at {self.getpos()}")
            return
        self.stack.pop()


def _parse(text: str) -> _Balance:
    p = _Balance()
    p.feed(text)
    p.close()
    return p


def _png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [1, 0.1, 0.01])
    fig.savefig(path, dpi=50)
    plt.close(fig)


def _fake_results(folder: pathlib.Path, eid="fake2099-thm9-synthetic") -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "id": eid,
        "profile": "quick",
        "wall_time": 1.25,
        "passed": False,
        "checks": [
            {
                "id": f"{eid}/good",
                "claim": "a passing claim with <b>markup</b> & symbols",
                "paper": "fake2099",
                "where": "Thm 9",
                "measured": 1.0,
                "predicted": 1.0,
                "error": 1e-12,
                "tolerance": 1e-6,
                "passed": True,
                "details": {"seed": 7, "steps": 12},
            },
            {
                "id": f"{eid}/bad",
                "claim": "a failing claim",
                "paper": "fake2099",
                "where": "Thm 9",
                "measured": 2.0,
                "predicted": 1.0,
                "error": 1.0,
                "tolerance": 1e-6,
                "passed": False,
                "details": {"seeds": [0, 1, 2]},
            },
        ],
    }
    (folder / f"{eid}.json").write_text(json.dumps(meta))
    _png(folder / f"{eid}.png")
    return folder


# ----------------------------------------------------------------------------------- unit


def test_report_from_synthetic_results(tmp_path):
    res = _fake_results(tmp_path / "results")
    (res / "notes.json").write_text('["not a result"]')  # other JSON in the folder is ignored
    out = tmp_path / "sub" / "report.html"
    path = build_report(res, out)
    assert path == str(out) and out.exists()
    text = out.read_text(encoding="utf-8")

    # ids, results, summary
    assert "fake2099-thm9-synthetic" in text
    for cid in ("fake2099-thm9-synthetic/<wbr>good", "fake2099-thm9-synthetic/<wbr>bad"):
        assert cid in text
    assert "PASS" in text and "FAIL" in text
    assert re.search(r"2 checks</strong>.*1 passed.*1 failed", text, re.S)
    assert "total time 1.25 s" in text
    # the failed check comes first in the check table
    table = text[text.index('id="check-table"') : text.index("</table>", text.index('id="check-table"'))]
    assert table.index("bad") < table.index("good")
    assert 'class="fail"' in table
    # unregistered id is shown with what the JSON has
    assert "not in the registry" in text and "fake2099" in text and "Thm 9" in text

    # figure embedded with alt text and caption
    assert "data:image/png;base64," in text
    assert "<figcaption>" in text

    # provenance
    assert f">{__version__}<" in text
    assert "git commit" in text and "Python" in text and "platform" in text and "generated" in text
    assert "UTC" in text
    for dep in DEPENDENCIES:
        assert f'<th scope="row">{dep}</th>' in text
    assert "seed = 7" in text and "seeds = [0, 1, 2]" in text

    # escaping, self-containment, well-formedness
    assert "<b>markup</b>" not in text and "&lt;b&gt;markup&lt;/b&gt; &amp; symbols" in text
    parsed = _parse(text)
    assert parsed.doctype and parsed.doctype.lower() == "doctype html"
    assert parsed.errors == [] and parsed.stack == []
    assert len(parsed.ids) == len(set(parsed.ids)), "duplicate ids"
    assert parsed.scripts == 0
    assert all(s.startswith("data:") for s in parsed.srcs)
    assert all(h.startswith(("#", "data:")) for h in parsed.hrefs)
    assert "http://" not in text and "https://" not in text
    for img in parsed.imgs:
        assert img.get("alt")
    anchors = {h[1:] for h in parsed.hrefs if h.startswith("#")}
    assert anchors <= set(parsed.ids), f"dangling links: {anchors - set(parsed.ids)}"


def test_report_registered_metadata_and_missing_figure(tmp_path):
    from implicit_bias import experiments

    e = experiments.select()[0]
    res = _fake_results(tmp_path / "results", eid=e.id)
    (res / f"{e.id}.png").unlink()
    text = pathlib.Path(build_report(res, tmp_path / "r.html")).read_text(encoding="utf-8")
    assert "not in the registry" not in text
    assert f'<span class="badge kind">{e.kind}</span>' in text
    assert "is missing" in text and "data:image/png;base64" not in text


def test_report_reads_old_and_new_nonfinite_encodings(tmp_path):
    """``ID.json`` written before the one JSON encoder held ``"nan"``/``"inf"``; now ``"NaN"``/``"Infinity"``:
    the report reads both and shows the same text."""
    pages = []
    for nan, inf in (("nan", "inf"), ("NaN", "Infinity")):
        folder = _fake_results(tmp_path / nan, eid="fake2099-thm9")
        path = folder / "fake2099-thm9.json"
        meta = json.loads(path.read_text())
        meta["checks"][1].update(measured=nan, error=inf, details={"seeds": [0, nan], "slope": inf})
        path.write_text(json.dumps(meta))
        html = pathlib.Path(build_report(folder, tmp_path / f"{nan}.html")).read_text(encoding="utf-8")
        pages.append(re.sub(r"Generated.*?UTC|[0-9-]+ [0-9:]+ UTC|/tmp\S*", "", html))
    assert ">nan<" in pages[0] and ">inf<" in pages[0]
    assert [ln for ln in pages[0].splitlines() if "nan" in ln or "inf" in ln] == [ln for ln in pages[1].splitlines() if "nan" in ln or "inf" in ln]


def test_report_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        build_report(tmp_path / "nope", tmp_path / "r.html")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no result files"):
        build_report(tmp_path / "empty", tmp_path / "r.html")
    bad = tmp_path / "bad"
    _fake_results(bad)
    (bad / "broken.json").write_text("{not json")
    text = pathlib.Path(build_report(bad, tmp_path / "r.html")).read_text(encoding="utf-8")
    assert "broken.json: could not be read" in text


def test_cli_report(tmp_path, capsys):
    from implicit_bias.cli import main

    res = _fake_results(tmp_path / "results")
    out = tmp_path / "cli.html"
    with pytest.raises(SystemExit) as ei:
        main(["report", "--results", str(res), "--out", str(out)])
    assert ei.value.code == 0
    assert out.exists() and str(out) in capsys.readouterr().out


# -------------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def real_report(tmp_path_factory):
    """A report built from two cheap real experiments plus one synthetic failing result."""
    from implicit_bias import experiments

    res = tmp_path_factory.mktemp("results")
    for eid in ("montufar2024-thm4-steepest", "montufar2024-thm2-mirror"):
        r = experiments.get(eid).run("quick")
        experiments.save(r, res)
        import matplotlib.pyplot as plt

        plt.close(r.figure)
    _fake_results(res)
    return pathlib.Path(build_report(res, res / "report.html"))


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium; a missing browser is a failure (never a silent skip)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: the report's browser test needs Debian's Chromium. "
            "Run `make test` (or `make system-deps`), which installs the chromium and chromium-driver packages.",
            pytrace=False,
        )
    return CHROMIUM


def test_report_in_headless_chromium(chromium, real_report):
    from playwright.sync_api import sync_playwright

    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / "report.png"
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(real_report.as_uri(), wait_until="load")

            assert page.evaluate("document.compatMode") == "CSS1Compat"  # standards mode (<!DOCTYPE html>)
            assert page.title().startswith("implicit-bias report")
            summary = page.inner_text("#summary")
            assert "checks" in summary and "passed" in summary and "failed" in summary

            imgs = page.query_selector_all("img")
            assert len(imgs) == 3  # two real experiments and the synthetic one
            for img in imgs:
                img.scroll_into_view_if_needed()
                assert img.evaluate("e => e.complete && e.naturalWidth > 0 && e.naturalHeight > 0"), img.get_attribute("alt")
                assert img.is_visible()
                box = img.bounding_box()
                assert box and box["width"] > 0 and box["height"] > 0
                assert img.get_attribute("alt")

            rows = page.query_selector_all("#check-table tbody tr")
            assert len(rows) >= 4
            assert "FAIL" in rows[0].inner_text()  # failed checks first
            assert "fake2099-thm9-synthetic/bad" in rows[0].inner_text().replace("\n", "")
            fail_bg = page.eval_on_selector("#check-table tbody tr.fail td", "e => getComputedStyle(e).backgroundColor")
            pass_bg = page.eval_on_selector("#check-table tbody tr.pass td", "e => getComputedStyle(e).backgroundColor")
            assert fail_bg != pass_bg
            assert page.inner_text("#provenance-table").count("\n") >= 7
            assert "montufar2024-thm4-steepest" in page.inner_text("main")

            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert errors == [], errors
    assert all(u.startswith(("file:", "data:")) for u in requests), [u for u in requests if not u.startswith(("file:", "data:"))]
    assert shot.exists() and shot.stat().st_size > 10_000
