"""The floors import downwards only: backends -> autograd/function -> the core Tensor
(distml/_tensor) -> the composed ops (distml/_composed_ops) -> nn/optim -> captured steps
(distml/_graph).

Two checks: importing a floor (with a bare `distml` package, so distml/__init__.py does
not pull everything in) loads no floor above it; and no import statement in a floor, at
module level or inside a function, names a floor above it.
"""
import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKG = ROOT / "distml"

# what each floor must never import (its own floor and those below are fine); "distml"
# itself is the top (its __init__ imports every floor): `import distml` inside a function
# is the same circle, only deferred
_TOP = ("distml", "distml._graph", "distml.nn", "distml.optim", "distml.serialization",
        "distml.utils", "distml.distributed", "distml.models")
_ABOVE_TENSOR = ("distml._composed_ops",) + _TOP
_ABOVE_BACKENDS = ("distml.autograd", "distml.function", "distml._tensor") + _ABOVE_TENSOR
ABOVE = {
    "distml.backends": _ABOVE_BACKENDS,
    "distml.device": _ABOVE_BACKENDS,
    "distml.random": _ABOVE_BACKENDS,
    "distml.autograd": ("distml.function", "distml._tensor") + _ABOVE_TENSOR,
    "distml.function": ("distml._tensor",) + _ABOVE_TENSOR,
    "distml._tensor": _ABOVE_TENSOR,
    "distml._composed_ops": _TOP,
}

# inside the Tensor floor: tensor.py builds Tensor from the mixins, and the factories
# build on Tensor; every other module sits below tensor.py
TENSOR_TOP = ("distml._tensor.tensor", "distml._tensor.factories")


def _loaded_by(module):
    code = (
        "import sys, types\n"
        "pkg = types.ModuleType('distml')\n"
        f"pkg.__path__ = [{str(PKG)!r}]\n"
        "sys.modules['distml'] = pkg\n"
        f"import {module}\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('distml.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return out.stdout.split()


def _imports(path):
    """Absolute names of every distml module an import statement in path names."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    package = parts[:-1]  # the package a relative import starts from
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            if mod != "distml":  # `from distml import random` names distml.random only
                found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)  # `from . import x`
    return {m for m in found if m == "distml" or m.startswith("distml.")}


def _floor_files(floor):
    path = ROOT / pathlib.Path(*floor.split("."))
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def _names(modules, prefixes):
    return sorted(m for m in modules
                  if any(m == p or (p != "distml" and m.startswith(p + ".")) for p in prefixes))


@pytest.mark.parametrize("floor", sorted(ABOVE))
def test_importing_a_floor_loads_no_floor_above_it(floor):
    loaded = _loaded_by(floor)
    assert floor in loaded
    assert _names(loaded, ABOVE[floor]) == []


@pytest.mark.parametrize("floor", sorted(ABOVE))
def test_no_import_statement_reaches_up(floor):
    for path in _floor_files(floor):
        assert _names(_imports(path), ABOVE[floor]) == [], path


def test_tensor_mixins_and_helpers_sit_below_tensor_py():
    for path in sorted((PKG / "_tensor").glob("*.py")):
        name = f"distml._tensor.{path.stem}"
        if name in TENSOR_TOP or path.stem == "__init__":
            continue
        assert _names(_imports(path), TENSOR_TOP) == [], path
    # and tensor.py does not build on what builds on it
    assert _names(_imports(PKG / "_tensor" / "tensor.py"), TENSOR_TOP[1:]) == []


# The composed floor is written from public Tensor methods only: it never reads a
# tensor's buffer, backend or graph, never builds a tensor around a raw buffer, and never
# defines or applies a Function (an op that needs one belongs to the core)
INTERNALS = {"_buf", "_backend", "_ctx", "_wrap", "_new", "_init", "_rebind",
             "_accumulate_grad", "Function", "apply"}
BELOW_THE_PUBLIC_API = ("distml.function", "distml.autograd", "distml.backends", "numpy")


@pytest.mark.parametrize("path", sorted((PKG / "_composed_ops").glob("*.py")),
                         ids=lambda p: p.name)
def test_composed_ops_use_only_the_public_tensor_api(path):
    tree = ast.parse(path.read_text())
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    used |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {a.name.split(".")[-1] for n in ast.walk(tree)
             if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert sorted(used & INTERNALS) == [], path
    imported = _imports(path) | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                                 for a in n.names}
    assert _names(imported, BELOW_THE_PUBLIC_API) == [], path


def _lines(paths):
    return sum(len(p.read_text().splitlines()) for p in paths)


def test_core_tensor_and_autograd_fit_the_budget():
    """Issue 13: the core Tensor + autograd under 2,500 lines, no source file over 700."""
    core = sorted((PKG / "_tensor").glob("*.py")) + [PKG / "autograd.py", PKG / "function.py"]
    assert _lines(core) < 2500
    for path in core + sorted((PKG / "_composed_ops").glob("*.py")):
        assert _lines([path]) <= 700, path
