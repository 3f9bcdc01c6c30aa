"""Griffe extensions for the API docs (loaded by ``mkdocs.yml``).

``EquinoxModules``: signatures of ``equinox.Module`` subclasses.
``eqx.Module`` turns every subclass into a dataclass through its metaclass, so its
``__init__`` takes the annotated fields as parameters. Griffe reads the source statically and
only knows ``@dataclasses.dataclass``; without this extension a model or algorithm has no
``__init__`` in the docs, and the ``Args:`` of its docstring are flagged as "does not appear in
the function signature" (fatal under ``mkdocs build --strict``). This extension synthesizes
``__init__(self, <fields>)`` from the annotated fields (parents first, ``ClassVar`` and
``eqx.field(init=False)`` skipped, defaults from ``default=`` / ``default_factory=``), so
the signature is right and the docstring check stays useful.

``DocstringConventions``: the package's docstrings are Google style with a few Sphinx habits
that Markdown does not know. Before parsing, and in the docs only (the source is untouched):
an ``Example:`` section header becomes ``Examples:`` (so doctests render as code), Sphinx roles
(``:func:`x```, ``:class:`~a.B```, ``:math:`x```) become inline code, and a
``.. math::`` directive becomes a fenced block showing the formula's LaTeX source.

Loaded by ``mkdocs.yml`` (``plugins.mkdocstrings.handlers.python.options.extensions``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_MODULE_PATHS = {"equinox.Module", "equinox._module.Module", "eqx.Module"}
_FIELD_PATHS = {"equinox.field", "equinox._module.field", "eqx.field", "dataclasses.field"}


def _expr_path(expr) -> str:
    for attr in ("canonical_path", "path"):
        try:
            v = getattr(expr, attr)
        except Exception:  # unresolvable alias
            continue
        if isinstance(v, str):
            return v
    return str(expr)


def _local_base(cls: griffe.Class, base) -> griffe.Class | None:
    """The griffe Class for ``base`` if it is defined in the loaded package, else None."""
    path = _expr_path(base)
    try:
        obj = cls.modules_collection[path]
    except Exception:
        try:
            obj = cls.parent.get_member(str(base)) if cls.parent is not None else None  # same module
        except Exception:
            obj = None
    try:
        if obj is not None and obj.is_alias:
            obj = obj.final_target
    except Exception:
        return None
    return obj if isinstance(obj, griffe.Class) else None


def _eqx_lineage(cls: griffe.Class, seen=None) -> list[griffe.Class] | None:
    """Classes from the eqx.Module root down to ``cls`` (parents first), or None if not a Module."""
    seen = seen or set()
    if cls.path in seen:
        return None
    seen.add(cls.path)
    for base in cls.bases:
        if _expr_path(base) in _MODULE_PATHS or str(base) in ("eqx.Module", "equinox.Module"):
            return [cls]
        parent = _local_base(cls, base)
        if parent is not None:
            chain = _eqx_lineage(parent, seen)
            if chain is not None:
                return chain + [cls]
    return None


def _field_kwargs(attr: griffe.Attribute) -> dict[str, Any] | None:
    value = attr.value
    if isinstance(value, griffe.ExprCall) and _expr_path(value.function) in _FIELD_PATHS | {"field"}:
        out = {}
        for a in value.arguments:
            name = getattr(a, "name", None)
            if name:
                out[name] = a.value
        return out
    return None


def _parameters(cls: griffe.Class) -> list[griffe.Parameter]:
    params = []
    for member in list(cls.members.values()):
        if member.is_alias or not member.is_attribute or member.annotation is None:
            continue
        labels = member.labels
        if "property" in labels or ("class-attribute" in labels and "instance-attribute" not in labels):
            continue  # ClassVar / property
        if str(member.annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        kw = _field_kwargs(member)
        if kw is not None and str(kw.get("init", "True")) == "False":
            continue
        if kw is None:
            default = member.value
        elif "default_factory" in kw:
            default = griffe.ExprCall(function=kw["default_factory"], arguments=[])
        else:
            default = kw.get("default")
        params.append(
            griffe.Parameter(
                member.name,
                annotation=member.annotation,
                kind=griffe.ParameterKind.positional_or_keyword,
                default=default,
                docstring=member.docstring,
            )
        )
    return params


def _apply(obj, seen: set) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    for member in list(obj.members.values()):
        if member.is_alias:
            continue
        if member.is_class:
            _apply(member, seen)
            if "__init__" in member.members:
                continue
            chain = _eqx_lineage(member)
            if not chain:
                continue
            by_name: dict[str, griffe.Parameter] = {}
            for c in chain:
                for p in _parameters(c):
                    by_name.pop(p.name, None)
                    by_name[p.name] = p
            # dataclass order: parameters without defaults cannot follow defaults in Python, but
            # eqx keeps declaration order; show it as declared.
            init = griffe.Function(
                "__init__",
                lineno=0,
                endlineno=0,
                parent=member,
                parameters=griffe.Parameters(
                    griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword),
                    *by_name.values(),
                ),
                returns="None",
            )
            member.set_member("__init__", init)
            member.labels.add("dataclass")
        elif member.is_module:
            _apply(member, seen)


class EquinoxModules(griffe.Extension):
    """Synthesize ``__init__`` for ``equinox.Module`` subclasses (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _apply(pkg, set())


# ------------------------------------------------------------------------ docstring conventions

_EXAMPLE_HEADER = re.compile(r"^(\s*)Example:\s*$", re.M)
_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const):`(~?)([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)$")


def _role(m: re.Match) -> str:
    name = m.group(2).strip()
    if m.group(1) == "~":
        name = name.split(".")[-1]
    return f"`{name}`"


def _math_blocks(text: str) -> str:
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = _MATH_DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = m.group("indent")
        body = [m.group("first").strip()] if m.group("first").strip() else []
        i += 1
        # continuation: lines indented deeper than the directive (blank lines inside allowed)
        while i < len(lines):
            ln = lines[i]
            if ln.strip() and len(ln) - len(ln.lstrip()) > len(indent):
                body.append(ln.strip())
                i += 1
            elif not ln.strip() and i + 1 < len(lines) and len(lines[i + 1]) - len(lines[i + 1].lstrip()) > len(indent) and lines[i + 1].strip():
                i += 1
            else:
                break
        out.extend([f"{indent}```text", *(indent + b for b in body), f"{indent}```"])
    return "\n".join(out)


def normalize_docstring(text: str) -> str:
    """The Markdown-friendly form of one docstring (see the module docstring)."""
    text = _EXAMPLE_HEADER.sub(r"\1Examples:", text)
    text = _MATH_ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    text = _ROLE.sub(_role, text)
    if ".. math::" in text:
        text = _math_blocks(text)
    return text


def _normalize(obj, seen: set) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if obj.docstring is not None:
        obj.docstring.value = normalize_docstring(obj.docstring.value)
    for member in list(obj.members.values()):
        if not member.is_alias:
            _normalize(member, seen)


class DocstringConventions(griffe.Extension):
    """Rewrite Sphinx habits in docstrings to Markdown before parsing (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _normalize(pkg, set())
