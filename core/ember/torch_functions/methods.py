"""The Tensor methods of these functions, and a few methods that are pure front ends
(``byte``, ``nelement``, ``H``, ``is_cuda`` …); ``install_methods`` attaches them.
"""

from __future__ import annotations

from .. import dtypes as _dt
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _fail

_METHODS = ("absolute", "clip", "is_nonzero", "ravel", "swapaxes", "fliplr", "flipud",
            "rot90", "diff", "take", "take_along_dim", "inner", "mv", "addmm", "baddbmm",
            "kron", "trace", "diag", "diagonal", "diag_embed", "det", "inverse", "logdet",
            "cross", "nansum", "nanmean", "median", "unique", "float_power", "isin",
            "tensor_split", "hsplit", "vsplit", "dsplit", "msort", "diagflat", "dist",
            "kthvalue", "nanmedian", "svd", "bincount", "ldexp", "cummax", "cummin",
            "histc", "index_fill", "index_copy", "quantile", "gcd", "lcm", "slice_scatter",
            "unique_consecutive", "multinomial", "mode", "scatter_reduce", "index_reduce",
            "masked_scatter", "select_scatter", "diagonal_scatter", "logit", "aminmax",
            "swapdims", "matrix_power", "addmv", "addr", "nanquantile", "frexp", "renorm",
            "matrix_exp", "corrcoef", "cov")
# in place through ``copy_``: ``self``'s old value is cloned first, so what the out-of-place
# function saved for backward is not the tensor that copy_ then overwrites
_INPLACE = ("scatter_reduce", "index_reduce", "index_fill", "index_copy", "masked_scatter")


def _H(self) -> Tensor:
    if self.ndim not in (0, 2):
        _fail("H", f"tensor.H is only supported on matrices (2-D tensors). Got "
                   f"{self.ndim}-D tensor.")
    return _ops.conj(self.transpose(0, 1)) if self.ndim == 2 else _ops.conj(self)


def _detach_(self) -> Tensor:
    """Cut ``self`` from the autograd graph in place (refused for views, as PyTorch)."""
    if self._base is not None and self.grad_fn is not None:
        raise RuntimeError("detach_(): Can't detach views in-place. Use detach() instead.")
    self.grad_fn = None
    self._requires_grad = False
    return self


def _inplace(name: str):
    from .. import torch_functions
    from ..autograd.grad_mode import is_grad_enabled
    from ..autograd.recording import LEAF_INPLACE

    fn = getattr(torch_functions, name)

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        if self.grad_fn is None and self._requires_grad and is_grad_enabled():
            raise RuntimeError(f"{name}_(): {LEAF_INPLACE}")
        out = fn(self.clone(), *args, **kwargs)
        if tuple(out.shape) != tuple(self.shape):
            _fail(f"{name}_", f"the result's shape {list(out.shape)} differs from self's "
                              f"{list(self.shape)} (an in-place op cannot broadcast self)")
        return self.copy_(out)
    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"In-place ``{name}``."
    return method


def install_methods() -> None:
    """Attach the methods PyTorch has for these functions, and the pure front ends."""
    from .. import torch_functions  # the package's namespace: every module's functions

    for name in _METHODS:
        if name not in Tensor.__dict__:
            setattr(Tensor, name, getattr(torch_functions, name))
    for name in _INPLACE:
        if f"{name}_" not in Tensor.__dict__:
            setattr(Tensor, f"{name}_", _inplace(name))
    Tensor.where = lambda self, condition, other: _ops.where(condition, self, other)
    Tensor.byte = lambda self: self.to(_dt.uint8)
    Tensor.char = lambda self: self.to(_dt.int8)
    Tensor.short = lambda self: self.to(_dt.int16)
    Tensor.nelement = Tensor.numel
    Tensor.ndimension = Tensor.dim
    Tensor.detach_ = _detach_
    Tensor.is_cuda = property(lambda self: self.device.type == "cuda",
                              doc="Whether the tensor is on a CUDA device.")
    Tensor.H = property(_H, doc="The conjugate transpose of a matrix.")
