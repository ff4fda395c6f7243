"""The core's layering: [tool.importlinter] in pyproject.toml names the layers, top first.

Module-level imports follow the layers (import-linter checks the whole graph, chains
through the ``ember`` facade included).  The contract's ``ignore_imports`` are the only
upward imports allowed, and each must be made inside a function, never at module level:
checked here with ``ast``, because import-linter does not tell the two apart.
"""

from __future__ import annotations

import ast
import fnmatch
import pathlib
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter depends on tomli there
    import tomli as tomllib

import importlinter.cli as importlinter_cli  # a dev dependency (pyproject's [dev] extra)
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for p in (CORE / "ember").rglob("*.py"):
        parts = list(p.relative_to(CORE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, made inside a function?) for each ember import."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def targets(node):
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        base = package.split(".")
        if node.level:
            base = base[:len(base) - node.level + 1]
        stem = ".".join(base + [node.module] if node.module else base) if node.level \
            else node.module
        return [f"{stem}.{a.name}" if f"{stem}.{a.name}" in MODULES else stem
                for a in node.names]

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((t, child.lineno, in_function) for t in targets(child))
            else:
                walk(child, in_function or isinstance(
                    child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
    walk(ast.parse(path.read_text()), False)
    return found


def _within(module: str, pattern: str) -> bool:
    """Whether ``module`` is ``pattern`` or inside it (import-linter's ``*`` wildcard)."""
    return any(fnmatch.fnmatchcase(m, pattern.replace("**", "*"))
               for m in (module, *(module.rsplit(".", k)[0] for k in range(1, 4))))


def test_layers_contract_is_kept():
    code = importlinter_cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"),
                                         no_cache=True, no_logo=True)
    assert code == 0, "an import breaks ember's layers: run `lint-imports` for the chain"


@pytest.mark.parametrize("rule", [i for c in CONFIG["contracts"]
                                  for i in c.get("ignore_imports", [])])
def test_upward_imports_are_lazy(rule):
    importer, imported = (s.strip() for s in rule.split("->"))
    hits = [(m, line, lazy) for m in MODULES if fnmatch.fnmatchcase(m, importer)
            for t, line, lazy in _imports(m) if _within(t, imported)]
    assert hits, f"ignore_imports entry {rule!r} matches no import: remove it"
    eager = [f"{m}:{line}" for m, line, lazy in hits if not lazy]
    assert not eager, (f"{rule!r} is allowed only inside functions, but is imported at "
                       f"module level at {eager}")


def test_every_core_module_has_a_layer():
    # a new module outside every layer would escape the contract
    layers = [m.strip() for c in CONFIG["contracts"] for layer in c["layers"]
              for m in layer.replace("|", ":").split(":")]
    loose = [m for m in MODULES if m not in ("ember", "ember.__main__")
             and not any(m == layer or m.startswith(layer + ".") for layer in layers)]
    assert not loose, f"modules in no layer of [tool.importlinter]: {loose}"


def test_the_lazy_check_sees_module_level_imports(tmp_path, monkeypatch):
    # the checker itself: a module-level upward import is reported, a lazy one is not
    src = tmp_path / "ember"
    (src / "sub").mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "sub" / "__init__.py").write_text("")
    (src / "low.py").write_text("from .sub import high\n\ndef f():\n    from . import top\n")
    fake = {"ember": src / "__init__.py", "ember.low": src / "low.py",
            "ember.sub": src / "sub" / "__init__.py", "ember.sub.high": src / "x.py",
            "ember.top": src / "y.py"}
    monkeypatch.setattr(sys.modules[__name__], "MODULES", fake)
    assert sorted(_imports("ember.low")) == [("ember.sub.high", 1, False),
                                             ("ember.top", 4, True)]


def test_tensor_stub_is_current():
    # core/ember/tensor.pyi lists Tensor's methods, attached ones included; a new op
    # method, or one attached by ember.tensor_methods, must show there
    import subprocess
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_tensor_stub.py"),
                          "--check"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr + "\nregenerate: python scripts/gen_tensor_stub.py"


def test_tensor_attributes_are_all_in_the_stub():
    # every public name a tensor has is declared in the stub (not only the file's shape)
    import ember
    stub = ast.parse((CORE / "ember" / "tensor.pyi").read_text())
    cls = next(n for n in stub.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    declared = {getattr(n, "name", None) or getattr(getattr(n, "target", None), "id", None)
                for n in cls.body}
    missing = [n for n in dir(ember.Tensor) if not n.startswith("_") and n not in declared]
    assert not missing, f"Tensor attributes missing from tensor.pyi: {missing}"
