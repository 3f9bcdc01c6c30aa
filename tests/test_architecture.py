"""The house rules of the package, read from its import graph (DESIGN.md "Layers").

Every module of ``src/implicit_bias`` is parsed with :mod:`ast` (nothing is imported) and its
imports are collected, those inside functions included: relative imports are resolved, and
``from pkg import submodule`` counts as an import of the submodule. Four rules:

1. **Layers.** A module imports only modules of its own rank or lower (``RANKS`` below, keyed
   by module path prefix; a new module must be given a rank here). A package ``__init__`` may
   re-export from its own subpackage whatever the ranks. No module imports the package top
   ``implicit_bias`` itself. ``theory`` never imports ``algorithms`` or ``train`` (``NEVER``).
2. **No import cycles** between modules (package ``__init__`` files included).
3. **No private names across modules**: no ``from .x import _name`` and no ``x._name`` on an
   imported module; private *modules* (``_config``) may be imported, dunders are fine. The tests
   follow the same rule: they use public names only.
4. **Short functions**: no ``def`` (methods and nested functions included) longer than
   ``MAX_FUNCTION_LINES`` lines.

The checkers take a ``{module: source}`` mapping (a package's ``__init__`` is keyed
``"pkg.sub.__init__"``), so each rule is shown to fail on a small synthetic package with one
deliberate violation, and then applied to the real package.
"""

from __future__ import annotations

import ast
import functools
import pathlib
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = "implicit_bias"

# One table: rank of every module, keyed by its path prefix inside the package (the longest
# matching prefix wins). A module may import only modules of its own rank or lower.
RANKS = {
    "_config": 0,
    "_version": 0,
    "_norms": 0,
    "_json": 0,
    "_progress": 0,
    "_names": 0,
    "potentials": 0,
    "losses": 0,
    "data": 0,
    "matrix_data": 0,
    "univariate": 0,
    "models": 1,
    "algorithms": 2,
    "train": 3,
    "theory": 4,
    "diagnostics": 5,
    "plotting": 6,
    "config": 7,
    "store": 7,
    "sweep": 8,
    "experiments": 9,
    "report": 10,
    "cli": 11,
    "_cli_runs": 11,
    "_cli_factorization": 11,
}
# Imports forbidden whatever the ranks: a prediction is computed without training.
NEVER = {"theory": ("algorithms", "train")}
MAX_FUNCTION_LINES = 150


# ----------------------------------------------------------------------------- the checkers


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``importer`` imports module ``target`` (``name``: a
    non-module name taken from it by ``from target import name``, else None)."""

    importer: str
    target: str
    name: str | None
    line: int


def read_sources(root: pathlib.Path, package: str) -> dict[str, str]:
    """``{module: source}`` of every ``.py`` file under ``root/package``; ``__init__`` files are
    keyed ``"package.sub.__init__"``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        out[".".join(rel.parts)] = path.read_text(encoding="utf-8")
    return out


def _modules(sources: dict[str, str]) -> dict[str, bool]:
    """Module name -> is a package (``pkg.__init__`` -> ``pkg``)."""
    return {(k[: -len(".__init__")] if k.endswith(".__init__") else k): k.endswith(".__init__") for k in sources}


@functools.lru_cache(maxsize=None)
def _parse(source: str, filename: str) -> ast.Module:
    return ast.parse(source, filename=filename)  # parsed once, read only


def _trees(sources: dict[str, str]) -> dict[str, tuple[ast.Module, bool]]:
    return {
        (k[: -len(".__init__")] if k.endswith(".__init__") else k): (_parse(src, k), k.endswith(".__init__"))
        for k, src in sources.items()
    }


def _longest_known_prefix(name: str, known) -> str | None:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in known:
            return cand
    return None


def _scan(module: str, tree: ast.Module, is_package: bool, known) -> tuple[list[Import], dict[str, str]]:
    """The imports of one module (anywhere in it) that land in ``known``, and the local names
    bound to known modules (for ``alias._name`` look-ups)."""
    imports, bound = [], {}
    here = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _longest_known_prefix(alias.name, known)
                if target is None:
                    continue
                imports.append(Import(module, target, None, node.lineno))
                if alias.asname:
                    bound[alias.asname] = target
                else:  # `import a.b.c` binds `a`
                    top = alias.name.split(".")[0]
                    if top in known:
                        bound[top] = top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = here.split(".") if here else []
                up = node.level - 1
                if up > len(parts):
                    continue
                base = ".".join(parts[: len(parts) - up])
                if node.module:
                    base = f"{base}.{node.module}" if base else node.module
            else:
                base = node.module
            if base not in known:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if alias.name != "*" and sub in known:
                    imports.append(Import(module, sub, None, node.lineno))
                    bound[alias.asname or alias.name] = sub
                else:
                    imports.append(Import(module, base, None if alias.name == "*" else alias.name, node.lineno))
    return imports, bound


def imports(sources: dict[str, str], known=None) -> list[Import]:
    """Every import edge of ``sources`` into ``known`` modules (default: the modules of
    ``sources`` themselves)."""
    known = _modules(sources) if known is None else known
    out = []
    for module, (tree, is_package) in _trees(sources).items():
        out.extend(_scan(module, tree, is_package, known)[0])
    return out


def _rank(module: str, package: str, ranks: dict[str, int]) -> int | None:
    rel = module[len(package) + 1 :] if module != package else ""
    key = _longest_known_prefix(rel, ranks) if rel else None
    return None if key is None else ranks[key]


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_violations(sources: dict[str, str], package: str, ranks: dict[str, int], never: dict[str, tuple] | None = None) -> list[str]:
    """Rule 1: imports that point up the layers, imports of the package top, forbidden imports,
    and modules that have no rank."""
    mods = _modules(sources)
    out = [f"{m}: no rank (add it to RANKS)" for m in mods if m != package and _rank(m, package, ranks) is None]
    for imp in imports(sources):
        if imp.target == imp.importer:
            continue
        if imp.target == package:
            out.append(f"{imp.importer} imports the package top {package} (line {imp.line})")
            continue
        if mods[imp.importer] and _within(imp.target, imp.importer):
            continue  # a package __init__ re-exports from its own subpackage
        ri, rt = _rank(imp.importer, package, ranks), _rank(imp.target, package, ranks)
        if ri is not None and rt is not None and rt > ri:
            out.append(f"{imp.importer} (rank {ri}) imports {imp.target} (rank {rt}) (line {imp.line})")
        for low, banned in (never or {}).items():
            if _within(imp.importer, f"{package}.{low}") and any(_within(imp.target, f"{package}.{b}") for b in banned):
                out.append(f"{imp.importer} imports {imp.target}: {low} never imports {', '.join(banned)} (line {imp.line})")
    return sorted(set(out))


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components."""
    index, low, stack, on_stack, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def _a_cycle(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """One cycle through ``comp[0]`` inside the component (breadth-first: a shortest one)."""
    inside, start = set(comp), comp[0]
    parent, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & inside):
                if w == start:
                    path = [v]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("not a cycle")  # pragma: no cover


def import_cycles(sources: dict[str, str]) -> list[str]:
    """Rule 2: one line per import cycle (strongly connected component of more than one module),
    naming the component and one cycle through it."""
    graph = {m: set() for m in _modules(sources)}
    for imp in imports(sources):
        if imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
    out = []
    for comp in _strongly_connected(graph):
        if len(comp) > 1:
            cycle = _a_cycle(graph, comp)
            out.append(f"cycle among {{{', '.join(comp)}}}: {' -> '.join(cycle)}")
    return out


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_name_violations(sources: dict[str, str], known=None) -> list[str]:
    """Rule 3: names starting with ``_`` taken from another module, by ``from x import _name``
    or by ``x._name`` on a name bound to an imported module. ``known``: the modules imports may
    land in (default: those of ``sources``; pass the package's to check its tests)."""
    known = _modules(sources) if known is None else known
    out = []
    for module, (tree, is_package) in _trees(sources).items():
        found, bound = _scan(module, tree, is_package, known)
        for imp in found:
            if imp.name is not None and _private(imp.name):
                out.append(f"{module} imports {imp.name} from {imp.target} (line {imp.line})")
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Name) and node.id in bound):
                continue
            mod, cur = bound[node.id], node
            while isinstance(parents.get(cur), ast.Attribute) and parents[cur].value is cur:
                cur = parents[cur]
                sub = f"{mod}.{cur.attr}"
                if sub in known:  # a module, private ones included
                    mod = sub
                    continue
                if _private(cur.attr):
                    out.append(f"{module} uses {mod}.{cur.attr} (line {cur.lineno})")
                break
    return sorted(set(out))


def long_functions(sources: dict[str, str], limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Rule 4: every function (methods and nested functions included) longer than ``limit``
    lines, from its ``def`` line to its last line."""
    out = []

    def visit(node, module, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    n = child.end_lineno - child.lineno + 1
                    if n > limit:
                        out.append(f"{module}:{qual} is {n} lines (line {child.lineno}; at most {limit})")
                visit(child, module, qual + ".")
            else:
                visit(child, module, prefix)

    for module, (tree, _) in _trees(sources).items():
        visit(tree, module, "")
    return out


# ---------------------------------------------------------------- the checkers on a toy package

TOY = {
    "pkg.__init__": "from . import low, mid\nfrom .mid import f as f\n",
    "pkg._impl": "__version__ = '1'\nX = 1\n_SECRET = 2\n",
    "pkg.low": (
        "from . import _impl\n"
        "from ._impl import X, __version__\n"
        "\n"
        "\n"
        "def g():\n"
        "    return X + _impl.X\n"
        "\n"
        "\n"
        "def _hidden():\n"
        "    return 0\n"
    ),
    "pkg.sub.__init__": "from .a import h as h\n",
    "pkg.sub.a": "from ..low import g\n\n\ndef h():\n    from .. import low\n\n    return low.g() + g()\n",
    "pkg.mid": "from .sub import a\nfrom . import sub\n\n\ndef f():\n    return a.h() + sub.h()\n",
    "pkg.high": "Z = 3\n",
}
TOY_RANKS = {"_impl": 0, "low": 0, "sub": 1, "mid": 2, "high": 3}


def _with(module: str, extra: str, base=TOY) -> dict[str, str]:
    out = dict(base)
    out[module] = out.get(module, "") + extra
    return out


def test_imports_are_resolved():
    edges = {(i.importer, i.target, i.name) for i in imports(TOY)}
    assert ("pkg.mid", "pkg.sub.a", None) in edges  # from .sub import a: the submodule
    assert ("pkg.mid", "pkg.sub", None) in edges  # from . import sub: the subpackage
    assert ("pkg.sub.a", "pkg.low", None) in edges  # inside a function, two dots
    assert ("pkg.sub.a", "pkg.low", "g") in edges
    assert ("pkg.low", "pkg._impl", "X") in edges and ("pkg.low", "pkg._impl", None) in edges
    assert ("pkg", "pkg.mid", "f") in edges
    absolute = imports(_with("pkg.high", "import pkg.low as lo\nfrom pkg.sub import a\nimport numpy\n"))
    assert {(i.target, i.name) for i in absolute if i.importer == "pkg.high"} == {("pkg.low", None), ("pkg.sub.a", None)}


def test_toy_package_is_clean():
    assert layer_violations(TOY, "pkg", TOY_RANKS) == []
    assert import_cycles(TOY) == []
    assert private_name_violations(TOY) == []
    assert long_functions(TOY) == []


@pytest.mark.parametrize(
    "module, extra, expected",
    [
        ("pkg.low", "\n\ndef late():\n    from .high import Z\n\n    return Z\n", "pkg.low (rank 0) imports pkg.high (rank 3)"),
        ("pkg.sub.__init__", "from ..high import Z as Z\n", "pkg.sub (rank 1) imports pkg.high (rank 3)"),
        ("pkg.low", "import pkg\n", "pkg.low imports the package top pkg"),
        ("pkg.high", "from . import f\n", "pkg.high imports the package top pkg"),
        ("pkg.unranked", "X = 1\n", "pkg.unranked: no rank"),
    ],
)
def test_layer_rule_fails_on_a_violation(module, extra, expected):
    found = layer_violations(_with(module, extra), "pkg", TOY_RANKS)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_never_rule_fails_on_a_violation():
    # mid -> sub is legal by rank; a NEVER entry forbids it
    found = layer_violations(TOY, "pkg", TOY_RANKS, never={"mid": ("sub",)})
    assert found and all(f.startswith("pkg.mid imports pkg.sub") for f in found), found


def test_cycle_rule_fails_on_a_violation():
    # low -> _impl is legal; a lazy import back (same rank) closes a cycle
    found = import_cycles(_with("pkg._impl", "\n\ndef k():\n    from . import low\n"))
    assert found == ["cycle among {pkg._impl, pkg.low}: pkg._impl -> pkg.low -> pkg._impl"]
    assert layer_violations(_with("pkg._impl", "\n\ndef k():\n    from . import low\n"), "pkg", TOY_RANKS) == []
    # a longer one, through a package __init__
    found = import_cycles(_with("pkg.sub.a", "from ..mid import f\n"))
    assert len(found) == 1 and "pkg.mid -> pkg.sub" in found[0] and "pkg.sub.a -> pkg.mid" in found[0], found


@pytest.mark.parametrize(
    "module, extra, expected",
    [
        ("pkg.mid", "from .low import _hidden\n", "pkg.mid imports _hidden from pkg.low"),
        ("pkg.mid", "from ._impl import _SECRET as secret\n", "pkg.mid imports _SECRET from pkg._impl"),
        ("pkg.sub.a", "\n\ndef j():\n    return low._hidden()\n", "pkg.sub.a uses pkg.low._hidden"),
        ("pkg.high", "import pkg as p\n\nY = p.low._hidden\n", "pkg.high uses pkg.low._hidden"),
    ],
)
def test_private_name_rule_fails_on_a_violation(module, extra, expected):
    found = private_name_violations(_with(module, extra))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_private_name_rule_on_tests():
    known = _modules(TOY)
    clean = {"tests.test_x": "import pkg as p\nfrom pkg import _impl\nfrom pkg.low import g\n\n\ndef test():\n    assert p._impl.X + _impl.X + g() + p.low.g()\n"}
    assert private_name_violations(clean, known) == []
    for extra in ("from pkg.low import _hidden\n", "import pkg.low as low\n\nlow._hidden()\n", "import pkg\n\npkg.low._hidden()\n"):
        found = private_name_violations(_with("tests.test_x", extra, clean), known)
        assert len(found) == 1 and "_hidden" in found[0], (extra, found)


def _body(n: int, indent: str) -> str:
    return "".join(f"{indent}x{i} = {i}\n" for i in range(n))


@pytest.mark.parametrize(
    "source, expected",
    [
        ("def f():\n" + _body(149, "    "), []),  # 150 lines: allowed
        ("def f():\n" + _body(150, "    "), ["f"]),
        ("class C:\n    def m(self):\n" + _body(150, "        "), ["C.m"]),
        ("def outer():\n    def inner():\n" + _body(150, "        ") + "    return inner\n", ["outer", "outer.inner"]),
    ],
)
def test_function_length_rule_fails_on_a_violation(source, expected):
    found = long_functions({"pkg.long": source})
    assert [f.split(":")[1].split(" ")[0] for f in found] == expected, found


# -------------------------------------------------------------------------- the real package

SOURCES = read_sources(ROOT / "src", PACKAGE)
KNOWN = _modules(SOURCES)


def _report(found: list[str]) -> str:
    return f"{len(found)} violation(s):\n" + "\n".join(found)


def test_the_graph_of_the_package_is_read():
    edges = {(i.importer, i.target) for i in imports(SOURCES)}
    assert ("implicit_bias.experiments.fc", "implicit_bias.train") in edges
    assert ("implicit_bias.algorithms._base", "implicit_bias.models") in edges  # from ..models import ...
    assert len(KNOWN) > 40


def test_package_imports_point_down_the_layers():
    found = layer_violations(SOURCES, PACKAGE, RANKS, NEVER)
    assert not found, _report(found)


def test_package_has_no_import_cycles():
    found = import_cycles(SOURCES)
    assert not found, _report(found)


def test_package_imports_no_private_names():
    found = private_name_violations(SOURCES)
    assert not found, _report(found)


def test_tests_use_public_names_only():
    tests = read_sources(ROOT, "tests")
    found = private_name_violations(tests, {**KNOWN, **_modules(tests)})
    assert not found, _report(found)


def test_package_functions_are_short():
    found = long_functions(SOURCES)
    assert not found, _report(found)


def test_benchmarks_use_public_names_only():
    benchmarks = read_sources(ROOT, "benchmarks")
    found = private_name_violations(benchmarks, {**KNOWN, **_modules(benchmarks)})
    assert not found, _report(found)
