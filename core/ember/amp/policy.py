"""Autocast's op policies: which ops run in the low-precision dtype, which in float32.

Each policy names ember ops (``ember.schema.registry`` names) by how autocast treats
their floating-point tensor arguments on the region's device type:

* ``lower_precision`` — cast to the region's dtype (float16 / bfloat16) and run there:
  the matrix products and convolutions that tensor cores and bfloat16 units speed up.
* ``fp32`` — cast to float32: ops whose range or accuracy suffers in 16 bits
  (exp/log/pow, losses, norms, range-hungry reductions, linear algebra).
* ``fp32_set_opt_dtype`` — reductions with a ``dtype`` argument: run in float32 unless
  the caller chose a ``dtype`` (PyTorch's ``fp32_set_opt_dtype``).
* ``promote`` — ops with several inputs: cast them all to the widest floating dtype
  among them.
* ``banned`` — ops that are unsafe in low precision and that PyTorch refuses under
  autocast (``binary_cross_entropy`` on accelerators): calling them raises.

Every other op runs in the dtypes it is given.  Float64 arguments are never lowered.

The tables follow PyTorch's (``aten/src/ATen/autocast_mode.cpp``): :data:`CPU` is
PyTorch's CPU list (so ``ember.autocast("cpu")`` produces the dtypes
``torch.autocast("cpu")`` does), :data:`ACCELERATOR` its CUDA list, used for every other
device type (cuda, rocm, xpu, ...).  A backend changes its device type's table and
default dtype through the ``ember_autocast_policy`` hook (``ember.hookspecs``), e.g. a
runtime with fast bfloat16 but slow float16 makes bfloat16 its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Policy", "CPU", "ACCELERATOR", "KINDS", "policy_for", "clear"]

#: The policy kinds, in the order a table lists them.
KINDS = ("lower_precision", "fp32", "fp32_set_opt_dtype", "promote", "banned")


@dataclass(frozen=True)
class Policy:
    """One device type's autocast table: op name -> kind, and the default dtype."""

    dtype: str
    lower_precision: frozenset = field(default_factory=frozenset)
    fp32: frozenset = field(default_factory=frozenset)
    fp32_set_opt_dtype: frozenset = field(default_factory=frozenset)
    promote: frozenset = field(default_factory=frozenset)
    banned: frozenset = field(default_factory=frozenset)

    def kinds(self) -> dict[str, str]:
        """``{op_name: kind}`` (the autocast kernel's lookup table)."""
        return {op: kind for kind in KINDS for op in getattr(self, kind)}


def _names(text: str) -> frozenset:
    return frozenset(text.split())


#: PyTorch's CPU policy (bfloat16 by default).
CPU = Policy(
    dtype="bfloat16",
    lower_precision=_names("""
        conv1d conv2d bmm mm matmul linear scaled_dot_product_attention
    """),
    fp32=_names("""
        prod binary_cross_entropy binary_cross_entropy_with_logits mse_loss nll_loss
        cross_entropy l1_loss
        linalg_cholesky linalg_inv linalg_qr linalg_svd linalg_svdvals linalg_eigh
        linalg_solve
    """),
    promote=_names("cat stack"),
)

#: PyTorch's CUDA policy (float16 by default), for every accelerator.
ACCELERATOR = Policy(
    dtype="float16",
    lower_precision=_names("""
        conv1d conv2d matmul mm bmm linear einsum outer scaled_dot_product_attention
    """),
    fp32=_names("""
        exp expm1 log log10 log2 log1p reciprocal rsqrt tan pow
        layer_norm group_norm logsumexp
        nll_loss cross_entropy l1_loss mse_loss binary_cross_entropy_with_logits
        linalg_cholesky linalg_inv linalg_qr linalg_svd linalg_svdvals linalg_eigh
        linalg_solve linalg_det linalg_slogdet
    """),
    fp32_set_opt_dtype=_names("softmax log_softmax sum prod cumsum cumprod"),
    promote=_names("addcdiv addcmul atan2 dot cat stack index_put scatter_add"),
    banned=_names("binary_cross_entropy"),
)

_cache: dict = {}

#: Every op any table has named so far (the built-in ones and hook answers): the
#: Autocast key passes the others straight through (``dispatch``'s ``passes``).  It only
#: grows; a new name clears the dispatcher's cached resolutions.
NAMED: set = set(CPU.kinds()) | set(ACCELERATOR.kinds())


def policy_for(device_type: str) -> Policy:
    """The table autocast uses on ``device_type``: the built-in one, changed by the
    ``ember_autocast_policy`` hook of the plugins registered now (cached per set of
    plugins, so registering or removing one is seen at the next region)."""
    from ..plugins import manager  # pluggy loads only once a policy is asked for
    key = (device_type, frozenset(map(id, manager.get_plugins())))
    p = _cache.get(key)
    if p is None:
        p = _cache[key] = _build(device_type, manager)
        new = set(p.kinds()) - NAMED
        if new:
            NAMED.update(new)
            from ..dispatch import clear_cache
            clear_cache()
    return p


def clear() -> None:
    """Forget the cached tables (tests that change the built-in ones)."""
    _cache.clear()


def _build(device_type: str, manager) -> Policy:
    base = CPU if device_type == "cpu" else ACCELERATOR
    changes = [c for c in manager.hook.ember_autocast_policy(device_type=device_type) if c]
    for change in changes:
        base = _apply(base, change, device_type)
    return base


def _apply(base: Policy, change: dict, device_type: str) -> Policy:
    """``base`` with one hook answer applied: ``{"dtype": "bfloat16", "fp32": {...},
    ...}``; an op named under a kind leaves the kind it had."""
    unknown = set(change) - {"dtype", *KINDS}
    if unknown:
        raise ValueError(f"ember_autocast_policy({device_type!r}) returned unknown keys "
                         f"{sorted(unknown)}; expected 'dtype' and any of {KINDS}")
    moved = set().union(*(set(change.get(k, ())) for k in KINDS))
    fields = {k: (getattr(base, k) - moved) | frozenset(change.get(k, ())) for k in KINDS}
    dtype = change.get("dtype", base.dtype)
    dtype = getattr(dtype, "name", dtype)
    if dtype not in ("float16", "bfloat16"):
        raise ValueError(f"ember_autocast_policy({device_type!r}) returned dtype "
                         f"{dtype!r}; expected float16 or bfloat16")
    return Policy(dtype=dtype, **fields)
