"""How tensors print: PyTorch's layout (``torch.set_printoptions``' defaults and rules).

Floating-point tensors share one format chosen from their finite nonzero values, as
PyTorch chooses it: whole numbers print as ``2.``; otherwise four decimals
(``1.5000``); scientific notation (``1.0000e-05``) when the values span more than
three orders of magnitude, exceed 1e8, or (not whole) fall below 1e-4.  Every entry is
padded to the widest.  Other dtypes print as numpy prints them, which matches.
"""

from __future__ import annotations

import numpy as np

__all__ = ["set_printoptions", "format_body", "with_suffixes"]

_OPTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
         "sci_mode": None}


def set_printoptions(precision: int | None = None, threshold: int | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print (PyTorch's names and defaults).

    ``profile`` is ``"default"``, ``"short"`` (precision 2, threshold 1000, edgeitems 2)
    or ``"full"`` (never summarise); ``sci_mode`` forces scientific notation on (True)
    or off (False), ``None`` chooses per tensor.
    """
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
                   "full": (4, np.iinfo(np.int64).max, 3, 80)}
        if profile not in presets:
            raise ValueError(f"set_printoptions(): profile must be one of "
                             f"{sorted(presets)}, got {profile!r}")
        (_OPTS["precision"], _OPTS["threshold"], _OPTS["edgeitems"],
         _OPTS["linewidth"]) = presets[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            if value.__class__ is not int or value < 0:
                raise ValueError(f"set_printoptions(): {name} must be a non-negative int, "
                                 f"got {value!r}")
            _OPTS[name] = value
    _OPTS["sci_mode"] = sci_mode


def _shown(arr: np.ndarray) -> np.ndarray:
    """The entries a summarised print shows (the edge items of every dimension)."""
    if arr.size <= _OPTS["threshold"]:
        return arr
    e = _OPTS["edgeitems"]
    for axis, n in enumerate(arr.shape):
        if n > 2 * e:
            arr = np.concatenate([arr.take(range(e), axis), arr.take(range(n - e, n), axis)],
                                 axis)
    return arr


def _float_formatter(arr: np.ndarray):
    p = _OPTS["precision"]
    shown = _shown(arr).ravel()
    vals = shown[np.isfinite(shown) & (shown != 0)]
    whole = bool(np.all(vals == np.ceil(vals)))
    sci = False
    if vals.size:
        mags = np.abs(vals)
        lo, hi = float(mags.min()), float(mags.max())
        sci = hi / lo > 1000.0 or hi > 1e8 or (not whole and lo < 1e-4)
    if _OPTS["sci_mode"] is not None:
        sci = _OPTS["sci_mode"]

    def text(v: float) -> str:
        if sci:
            return f"{v:.{p}e}"
        if whole:
            return f"{v:.0f}." if np.isfinite(v) else f"{v}"
        return f"{v:.{p}f}"

    # the width comes from the finite nonzero values (nan, inf and 0 just fit in)
    width = max((len(text(float(v))) for v in vals), default=1)
    return lambda v: text(float(v)).rjust(width)


def _complex_formatter(arr: np.ndarray):
    """PyTorch's complex layout: the real and the imaginary parts each formatted as a
    floating tensor of their own, joined as ``1.5000+2.0000j``."""
    real = np.ascontiguousarray(arr.real, dtype=np.float64)
    imag = np.ascontiguousarray(arr.imag, dtype=np.float64)
    fr, fi = _float_formatter(real), _float_formatter(imag)

    def text(v) -> str:
        im = (fi(v.imag) + "j").lstrip()
        return fr(v.real) + (im if im[0] in "+-" else "+" + im)
    return text


def format_body(arr: np.ndarray, prefix: str = "tensor(") -> str:
    """The bracketed values of a host array, laid out as PyTorch prints them."""
    opts = {"separator": ", ", "prefix": prefix, "threshold": _OPTS["threshold"],
            "edgeitems": _OPTS["edgeitems"], "max_line_width": _OPTS["linewidth"]}
    if arr.dtype.kind == "f" or arr.dtype.kind == "V":  # (bfloat16 is kind "V")
        wide = np.asarray(arr, dtype=np.float64)
        body = np.array2string(wide, formatter={"float_kind": _float_formatter(wide)},
                               **opts)
    elif arr.dtype.kind == "c":
        body = np.array2string(arr, formatter={"complex_kind": _complex_formatter(arr)},
                               **opts)
    else:
        body = np.array2string(arr, **opts)
    # PyTorch writes a summarised row's gap as " ...", numpy as "..."
    return body.replace(", ..., ", ",  ..., ")


def with_suffixes(text: str, suffixes: list[str], indent: int = len("tensor(")) -> str:
    """``text`` (``tensor(`` and the values) closed with ``, name=value`` suffixes; a
    suffix that would run past the line width starts a new line, as in PyTorch."""
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    width = _OPTS["linewidth"]
    for s in suffixes:
        if last + len(s) + 2 > width:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"
