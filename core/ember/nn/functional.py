"""``ember.nn.functional``: the stateless layer functions, with PyTorch's signatures.

Each forwards to an op of ``ember.ops.nn`` (declared once, composite, fused on the
CPU) or to a primitive; nothing here is backend-specific.
"""

from __future__ import annotations

import warnings

from .. import ops as _ops
from ..ops import nn as _nn
from ..tensor import Tensor

__all__ = ["relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax",
           "log_softmax", "linear", "conv1d", "conv2d", "pad", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d", "batch_norm", "layer_norm", "group_norm", "dropout",
           "embedding", "scaled_dot_product_attention", "mse_loss", "l1_loss", "nll_loss",
           "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "one_hot", "flatten", "conv_transpose1d", "conv_transpose2d",
           "conv3d", "conv_transpose3d",
           "interpolate", "upsample", "unfold", "fold"]


def _legacy_reduction(fn: str, size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(f"{fn}(): size_average and reduce are deprecated, use reduction=",
                  DeprecationWarning, stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _inplace(input: Tensor, out: Tensor) -> Tensor:
    return input.copy_(out)


# --- activations ------------------------------------------------------------------------

def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``."""
    out = _nn.relu(input)
    return _inplace(input, out) if inplace else out


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(input, 0), 6)``: ``hardtanh(input, 0, 6)``, whose gradient is 0 at 0
    and 6 as PyTorch's."""
    from .functional_activation import hardtanh
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    out = _nn.leaky_relu(input, negative_slope)
    return _inplace(input, out) if inplace else out


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    return _nn.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    out = _nn.silu(input)
    return _inplace(input, out) if inplace else out


def sigmoid(input: Tensor) -> Tensor:
    return _ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _ops.tanh(input)


def _softmax_dim(fn: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {fn} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """``exp(input) / sum(exp(input), dim)``, computed stably."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return _nn.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """``log(softmax(input, dim))``, computed stably."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return _nn.log_softmax(input, dim, dtype)


# --- layers -------------------------------------------------------------------------------

linear = _nn.linear


def _conv_padding(fn: str, padding, weight: Tensor, dilation, stride, nd: int):
    """``'valid'``/``'same'`` string padding as ints; ``None`` for asymmetric 'same'."""
    if not isinstance(padding, str):
        return padding, None
    if padding == "valid":
        return 0, None
    if padding != "same":
        raise ValueError(f"{fn}(): invalid padding string {padding!r}, should be one of "
                         f"'valid' or 'same'")
    st = (stride,) * nd if isinstance(stride, int) else tuple(stride)
    if any(s != 1 for s in st):
        raise ValueError(f"{fn}(): padding='same' is not supported for strided convolutions")
    dil = (dilation,) * nd if isinstance(dilation, int) else tuple(dilation)
    if len(dil) == 1:
        dil = dil * nd
    total = [d * (k - 1) for d, k in zip(dil, weight.shape[2:], strict=True)]
    if all(t % 2 == 0 for t in total):
        return [t // 2 for t in total], None
    # Uneven 'same' padding: pad the extra element on the right, as PyTorch does.
    explicit = []
    for t in reversed(total):
        explicit += [t // 2, t - t // 2]
    return 0, explicit


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution over (N, C, L) or (C, L); ``padding`` may be 'valid' or 'same'."""
    padding, explicit = _conv_padding("conv1d", padding, weight, dilation, stride, 1)
    if explicit:
        input = _nn.pad(input, explicit)
    return _nn.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution over (N, C, H, W) or (C, H, W); ``padding`` may be 'valid' or
    'same'."""
    padding, explicit = _conv_padding("conv2d", padding, weight, dilation, stride, 2)
    if explicit:
        input = _nn.pad(input, explicit)
    return _nn.conv2d(input, weight, bias, stride, padding, dilation, groups)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad trailing dimensions by ``pad`` = (left, right, top, bottom, …)."""
    return _nn.pad(input, pad, mode, 0.0 if value is None else value)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling; with ``return_indices`` also each output's flat index ``h * W +
    w`` in its input plane (the first maximum of its window, as PyTorch)."""
    stride = () if stride is None else stride
    if return_indices:
        return _nn.max_pool2d_with_indices(input, kernel_size, stride, padding, dilation,
                                           ceil_mode)
    return _nn.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    return _nn.avg_pool2d(input, kernel_size, () if stride is None else stride, padding,
                          ceil_mode, count_include_pad, divisor_override)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    if isinstance(output_size, (tuple, list)) and None in output_size:
        output_size = tuple(input.shape[-2 + i] if s is None else s
                            for i, s in enumerate(output_size))
    return _nn.adaptive_avg_pool2d(input, output_size)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation; in training updates the running statistics in place."""
    return _nn.batch_norm(input, running_mean, running_var, weight, bias, training,
                          momentum, eps)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return _nn.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    return _nn.group_norm(input, num_groups, weight, bias, eps)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator=None) -> Tensor:
    """Zero elements with probability ``p`` (scaling the rest) when ``training``."""
    if not training:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        return input
    out = _nn.dropout(input, p, True, generator)
    return _inplace(input, out) if inplace else out


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at the indices ``input``."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding(): max_norm, scale_grad_by_freq and sparse are "
                                  "not supported")
    return _nn.embedding(input, weight, padding_idx)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key.T * scale + mask) @ value`` (a boolean mask keeps True)."""
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention(): enable_gqa is not "
                                  "supported")
    return _nn.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p,
                                            is_causal, scale)


# --- losses ---------------------------------------------------------------------------------

def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean") -> Tensor:
    return _nn.mse_loss(input, target,
                        _legacy_reduction("mse_loss", size_average, reduce, reduction))


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    return _nn.l1_loss(input, target,
                       _legacy_reduction("l1_loss", size_average, reduce, reduction))


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    return _nn.nll_loss(input, target, weight,
                        _legacy_reduction("nll_loss", size_average, reduce, reduction),
                        ignore_index)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits against class indices or class probabilities."""
    return _nn.cross_entropy(input, target, weight,
                             _legacy_reduction("cross_entropy", size_average, reduce,
                                               reduction), ignore_index, label_smoothing)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    return _nn.binary_cross_entropy(
        input, target, weight,
        _legacy_reduction("binary_cross_entropy", size_average, reduce, reduction))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    return _nn.binary_cross_entropy_with_logits(
        input, target, weight, pos_weight,
        _legacy_reduction("binary_cross_entropy_with_logits", size_average, reduce,
                          reduction))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding (``num_classes=-1``: one more than the largest index)."""
    return _ops.one_hot(tensor, num_classes)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)



# --- compositions of ember ops, one module per concept ------------------------------------
from .functional_activation import *  # noqa: E402, F403
from .functional_activation import __all__ as _act_all  # noqa: E402
from .functional_distance import *  # noqa: E402, F403
from .functional_distance import __all__ as _dist_all  # noqa: E402
from .functional_loss import *  # noqa: E402, F403
from .functional_loss import __all__ as _loss_all  # noqa: E402
from .pixelshuffle import pixel_shuffle, pixel_unshuffle  # noqa: E402

__all__ += [*_act_all, *_dist_all, *_loss_all, "pixel_shuffle", "pixel_unshuffle"]
from .conv import conv3d  # noqa: E402
from .conv_transpose import conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: E402
from .upsampling import interpolate, upsample  # noqa: E402
from .fold import fold, unfold  # noqa: E402
