"""Write core/ember/tensor.pyi: every method ``Tensor`` has once ``import ember`` is done.

    python scripts/gen_tensor_stub.py [--check]

``ember.tensor`` defines the class body; ``ember.tensor_methods`` attaches the methods of
the layers above (ops, autograd, DLPack, the Array API).  Editors and type checkers read
this stub instead, so it lists both, each under a comment naming the module that defines
it.  Ops' signatures come from their schema (the generated entry points take
``*args, **kwargs``).  ``--check`` exits 1 when the file differs (tests/test_layers.py).
"""

from __future__ import annotations

import argparse
import inspect
import pathlib
import re
import sys
import textwrap
import types

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUB = ROOT / "core" / "ember" / "tensor.pyi"

# Inside ``class Tensor`` the methods ``int``, ``float``, ``bool``, ``dtype`` and ``device``
# shadow the types of the same names, so the stub names the types by aliases.
_ALIASES = {"int": "_int", "float": "_float", "bool": "_bool", "str": "_str",
            "dtype": "_dtype", "_dt.dtype": "_dtype", "device": "_device",
            "_device": "_device"}
#: schema argument type -> annotation
_SCHEMA_TYPES = {"Tensor": "Tensor", "Scalar": "Number", "int": "_int", "float": "_float",
                 "bool": "_bool", "str": "_str", "ScalarType": "_dtype",
                 "Device": "DeviceLike", "Generator": "Generator", "Any": "Any"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z_.]*")
#: names an annotation of a hand-written method may keep; any other makes it Any
_KNOWN = {"Tensor", "Size", "None", "Any", "Number", "tuple", "list", "dict", "object",
          "bytes", "complex", *_ALIASES}
# (``__del__`` exists only while memory statistics are observed: tensor.observe_releases)
_SKIP = {"__del__", "__dict__", "__doc__", "__module__", "__slots__", "__weakref__",
         "__annotations__", "__qualname__", "__firstlineno__", "__static_attributes__"}


def _default(v) -> str:
    if v is None or isinstance(v, (bool, int, float, str)) and len(repr(v)) < 40:
        return repr(v)
    return "..."


def _op_params(od) -> tuple[list[str], str]:
    params, star = [], False
    for a in od.args:
        ann = _SCHEMA_TYPES.get(a.type, "Any")  # (a schema type added later: Any)
        if a.is_list:
            ann = f"Sequence[{ann}]"
        if a.optional:
            ann += " | None"
        if a.varargs:
            params.append(f"*{a.name}: {_SCHEMA_TYPES.get(a.type, 'Any')}")
            star = True
            continue
        if a.kwarg_only and not star:
            params.append("*")
            star = True
        params.append(f"{a.name}: {ann}" + (f" = {_default(a.default)}" if a.has_default
                                            else ""))
    ret = od.returns
    if ret.startswith("("):
        ret = "tuple[" + ", ".join("Tensor" for _ in ret.strip("()").split(",")) + "]"
    elif ret.endswith("[]"):
        ret = "list[Tensor]"
    else:
        ret = "Tensor" if ret.startswith("Tensor") else "Any"
    return params, ret


def _ann(text) -> str:
    if text is inspect.Parameter.empty:
        return ""
    text = text if isinstance(text, str) else getattr(text, "__name__", "Any")
    if any(n not in _KNOWN for n in _NAME.findall(text)):
        return "Any"
    return _NAME.sub(lambda m: _ALIASES.get(m.group(), m.group()), text)


def _py_params(fn) -> tuple[list[str], str]:
    sig = inspect.signature(fn)
    params, star = [], False
    for p in sig.parameters.values():
        ann = _ann(p.annotation)
        if p.kind is p.VAR_POSITIONAL:
            text, star = f"*{p.name}", True
        elif p.kind is p.VAR_KEYWORD:
            text = f"**{p.name}"
        else:
            if p.kind is p.KEYWORD_ONLY and not star:
                params.append("*")
                star = True
            text = p.name
        if ann and p.name != "self":
            text += f": {ann}"
        if p.default is not p.empty:
            text += f" = {_default(p.default)}" if ann or p.name == "self" \
                else f"={_default(p.default)}"
        params.append(text)
        if p.kind is p.POSITIONAL_ONLY and (
                not any(q.kind is q.POSITIONAL_ONLY for q in list(sig.parameters.values())
                        [list(sig.parameters).index(p.name) + 1:])):
            params.append("/")
    ret = _ann(sig.return_annotation) or "Any"
    return params, ret


def _doc(obj) -> str | None:
    doc = obj.__doc__ if isinstance(obj, (type, property, types.FunctionType)) else None
    if not doc:
        return None
    first = inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ")
    return first.replace("\\", "\\\\").replace('"""', "'''")


def _def(name: str, params: list[str], ret: str, doc: str | None, indent: str) -> list[str]:
    params = ["self", *params[1:]] if params and params[0].split(":")[0] == "self" else \
        ["self", *params]
    head = [f"{indent}def {name}({', '.join(params)}) -> {ret}:"]
    if len(head[0]) + 4 * (doc is None) > 100:  # one parameter a line
        head = [f"{indent}def {name}(", *(f"{indent}    {p}," for p in params),
                f"{indent}) -> {ret}:"]
    if doc is None:
        return [*head[:-1], head[-1] + " ..."]
    body = textwrap.wrap(f'"""{doc}"""', 100, initial_indent=indent + "    ",
                         subsequent_indent=indent + "    ", break_on_hyphens=False)
    return [*head, *body]


def _ops_by_function():
    import ember
    from ember.schema import registry

    where = {}
    for mod_name, mod in sorted(sys.modules.items()):
        if mod_name.startswith("ember.ops.") and isinstance(mod, types.ModuleType):
            for v in vars(mod).values():
                if callable(v):
                    where.setdefault(id(v), mod_name)
    return {id(od.fn): (od, where.get(id(od.fn), "ember.ops")) for od in registry.values()}, \
        ember.Tensor


def _member(name, value, ops, indent) -> tuple[str, list[str]]:
    """(defining module, stub lines) of one attribute of Tensor."""
    if isinstance(value, property):
        src = getattr(value.fget, "__module__", "ember.tensor")
        ret = _ann(inspect.signature(value.fget).return_annotation) or "Any"
        lines = [f"{indent}@property", *_def(name, [], ret, _doc(value), indent)]
        if value.fset is not None:
            lines += [f"{indent}@{name}.setter",
                      f"{indent}def {name}(self, value: {ret}) -> None: ..."]
        return src, lines
    if isinstance(value, (staticmethod, classmethod)):
        fn = value.__func__
        params, ret = _py_params(fn)
        kind = type(value).__name__
        head = params if kind == "staticmethod" else params[1:]
        first = [] if kind == "staticmethod" else ["cls"]
        return fn.__module__, [f"{indent}@{kind}",
                               f"{indent}def {name}({', '.join(first + head)}) -> {ret}: ..."]
    if isinstance(value, types.FunctionType):
        hit = ops.get(id(value))
        if hit is not None:
            od, mod = hit
            params, ret = _op_params(od)
            return mod, _def(name, params, ret, _doc(value) or od.signature, indent)
        params, ret = _py_params(value)
        return value.__module__, _def(name, params, ret, _doc(value), indent)
    if value is None and name == "__hash__":
        return "ember.tensor", [f"{indent}__hash__: None  # type: ignore[assignment]"]
    return "ember.tensor", [f"{indent}{name}: Any"]


def render() -> str:
    ops, tensor_cls = _ops_by_function()
    tmod = sys.modules["ember.tensor"]  # (ember.tensor the attribute is the function)

    groups: dict[str, list[str]] = {}
    for name, value in tensor_cls.__dict__.items():
        if name in _SKIP:
            continue
        src, lines = _member(name, value, ops, "    ")
        groups.setdefault(src, []).extend(lines)
    order = sorted(groups, key=lambda m: (m != "ember.tensor", m))
    out = ['"""Generated by scripts/gen_tensor_stub.py from the Tensor class as `import ember`',
           'leaves it; do not edit by hand.  Methods are grouped by the module that defines',
           'them; ember.tensor_methods attaches all but the first group."""',
           "",
           "from builtins import bool as _bool, float as _float, int as _int, str as _str",
           "from collections.abc import Sequence",
           "from typing import Any",
           "",
           "from .device import device as _device",
           "from .dtypes import dtype as _dtype",
           "from .random import Generator",
           "",
           "Number = _int | _float | _bool",
           "DeviceLike = _device | _str | _int",
           "",
           f"__all__ = {tmod.__all__!r}",
           "",
           "OBSERVED_ALLOCATORS: dict[str, Any]",
           "",
           "class Size(tuple[int, ...]):",
           "    def numel(self) -> int: ...",
           "",
           "class Tensor:",
           f'    """{_doc(tensor_cls)}"""']
    for mod in order:
        out += ["", f"    # --- {mod} " + "-" * max(3, 80 - len(mod))]
        out += groups[mod]
    out += [""]
    for name in ("is_tensor", "tensor", "as_tensor", "from_numpy", "observe_releases"):
        params, ret = _py_params(getattr(tmod, name))
        out.append(f"def {name}({', '.join(params)}) -> {ret}: ...")
    out += ["def __getattr__(name: str) -> Any: ...  # the module's private helpers", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the stub is stale")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        stale = not STUB.exists() or STUB.read_text() != text
        if stale:
            print(f"{STUB} is stale: run python scripts/gen_tensor_stub.py", file=sys.stderr)
        return int(stale)
    STUB.write_text(text)
    print(f"wrote {STUB.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
