"""The activations of ``ember.nn.functional`` beyond the fused ops (ELU family, softplus
family, hard*/shrink functions, GLU, PReLU, RReLU, softmin), with PyTorch's signatures.

Each is a composition of ember ops, so autograd (double backward included) and every
backend come for free.  Where one branch of a ``where`` could overflow (``exp`` of a
large input), its input is clamped first: the masked branch's gradient is multiplied by
zero, and ``0 * inf`` would otherwise turn it into NaN.
"""

from __future__ import annotations

import warnings

from .. import ops as _ops
from ..errors import OpError
from ..ops import nn as _nn
from ..ops.nn import stable_softplus as _stable_softplus
from ..tensor import Tensor

__all__ = ["elu", "elu_", "selu", "selu_", "celu", "celu_", "softplus", "hardtanh",
           "hardtanh_", "relu_", "leaky_relu_", "hardswish", "hardsigmoid", "mish",
           "logsigmoid", "softsign", "tanhshrink", "softshrink", "hardshrink", "threshold",
           "threshold_", "glu", "prelu", "softmin", "rrelu", "rrelu_"]

# SELU's constants (Klambauer et al., 2017), to the digits PyTorch uses.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _tensor(fn: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be a Tensor, not "
                        f"{type(input).__name__}")


def _inplace(input: Tensor, out: Tensor) -> Tensor:
    return input.copy_(out)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""
    _tensor("elu", input)
    out = _ops.where(input > 0, input, _ops.expm1(_ops.clamp_max(input, 0.0)) * alpha)
    return _inplace(input, out) if inplace else out


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants."""
    _tensor("selu", input)
    out = elu(input, _SELU_ALPHA) * _SELU_SCALE
    return _inplace(input, out) if inplace else out


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    _tensor("celu", input)
    if alpha == 0:
        raise ValueError("celu(): argument 'alpha' must not be zero (it divides the input)")
    neg = _ops.expm1(_ops.clamp_max(input, 0.0) / alpha) * alpha
    out = _ops.where(input > 0, input, neg)
    return _inplace(input, out) if inplace else out


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``; ``x`` itself where ``beta * x > threshold``
    (where the two agree to float precision)."""
    _tensor("softplus", input)
    bx = input * beta
    soft = _ops.log1p(_ops.exp(_ops.clamp_max(bx, threshold))) / beta
    return _ops.where(bx > threshold, input, soft)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``x`` clamped to ``[min_val, max_val]``; as PyTorch's, its gradient is 0 on the
    bounds themselves (``clamp``'s is 1 there)."""
    _tensor("hardtanh", input)
    if min_val > max_val:
        raise ValueError(f"hardtanh(): min_val cannot be greater than max_val, got "
                         f"min_val={min_val}, max_val={max_val}")
    out = _ops.where(input <= min_val, min_val, _ops.where(input >= max_val, max_val, input))
    return _inplace(input, out) if inplace else out


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu_(input: Tensor) -> Tensor:
    return _inplace(input, _nn.relu(input))


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return _inplace(input, _nn.leaky_relu(input, negative_slope))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``; as PyTorch's, its gradient is 0 at -3 and 1 at 3 (the
    outer pieces' slopes)."""
    _tensor("hardswish", input)
    mid = input.clamp(-3.0, 3.0)  # finite in the masked branches (inf * 0 is NaN)
    # x * 0, not 0, below -3: -0 and NaN at -inf, as PyTorch's x * relu6(x + 3) / 6
    out = _ops.where(input <= -3.0, input * 0.0,
                     _ops.where(input < 3.0, mid * (mid + 3.0) / 6.0, input))
    return _inplace(input, out) if inplace else out


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``; as PyTorch's, its gradient is 0 at -3 and 3."""
    _tensor("hardsigmoid", input)
    out = _ops.where(input <= -3.0, 0.0, _ops.where(input >= 3.0, 1.0, input / 6.0 + 0.5))
    return _inplace(input, out) if inplace else out


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    _tensor("mish", input)
    out = input * _ops.tanh(_stable_softplus(input))
    return _inplace(input, out) if inplace else out


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, finite for every finite ``x``."""
    _tensor("logsigmoid", input)
    return -_stable_softplus(-input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    _tensor("softsign", input)
    return input / (input.abs() + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    _tensor("tanhshrink", input)
    return input - _ops.tanh(input)


def _lambd(fn: str, lambd: float) -> None:
    if lambd < 0:
        raise ValueError(f"{fn}(): argument 'lambd' must be greater or equal to 0, got "
                         f"{lambd}")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    _tensor("softshrink", input)
    _lambd("softshrink", lambd)
    return input - input.clamp(-lambd, lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0 (NaN stays NaN)."""
    _tensor("hardshrink", input)
    _lambd("hardshrink", lambd)
    inside = _ops.logical_and(input >= -lambd, input <= lambd)
    return _ops.where(inside, _ops.zeros_like(input), input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value`` (NaN stays NaN)."""
    _tensor("threshold", input)
    out = _ops.where(input <= threshold, _ops.full_like(input, value), input)
    return _inplace(input, out) if inplace else out


_threshold = threshold  # the parameter of threshold_ shadows the function's name


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _threshold(input, threshold, value, inplace=True)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """``a * sigmoid(b)`` of the two halves ``a, b`` of ``input`` along ``dim``."""
    _tensor("glu", input)
    if input.ndim == 0:
        raise OpError("glu(): does not support scalars because halving size must be even")
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(f"glu(): dimension {dim} out of range for a {input.ndim}-d input")
    size = input.shape[dim]
    if size % 2:
        raise OpError(f"glu(): halving dimension must be even, but dimension "
                      f"{dim % input.ndim} is size {size}")
    a, b = _ops.split(input, size // 2, dim)
    return a * _ops.sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, else ``weight * x``; ``weight`` holds one slope or one per
    channel (dim 1; an input of fewer dims has one channel)."""
    _tensor("prelu", input)
    n = weight.numel()
    if weight.ndim > 1:
        raise OpError(f"prelu(): argument 'weight' must be 0-d or 1-d, got "
                      f"{weight.ndim}-d")
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise OpError(f"prelu(): mismatch of parameter numbers and input channel size: "
                          f"{n} slopes for {channels} channels")
        if input.ndim >= 2:
            weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    return _ops.where(input > 0, input, weight * input)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """``softmax(-x, dim)``."""
    _tensor("softmin", input)
    if dim is None:
        warnings.warn("Implicit dimension choice for softmin has been deprecated. Change "
                      "the call to include dim=X as an argument.", UserWarning, stacklevel=2)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return _nn.softmax(-input, dim, dtype)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: in training each non-positive element gets its own slope
    drawn from ``U(lower, upper)`` (from ember's seeded generator); in eval the fixed
    slope ``(lower + upper) / 2``."""
    _tensor("rrelu", input)
    if lower > upper:
        raise ValueError(f"rrelu(): lower bound should be less than or equal to the upper "
                         f"bound, got lower={lower}, upper={upper}")
    if not training:
        out = _nn.leaky_relu(input, (lower + upper) / 2)
    else:
        # The slopes are noise, not a function of the input: no gradient flows into them.
        slopes = _ops.rand_like(input.detach()) * (upper - lower) + lower
        out = _ops.where(input >= 0, input, input * slopes)
    return _inplace(input, out) if inplace else out


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)
