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
            "unique_consecutive", "multinomial", "mode", "logit", "aminmax", "swapdims",
            "matrix_power", "addmv", "addr", "nanquantile", "frexp", "renorm",
            "matrix_exp", "corrcoef", "cov")


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


def install_methods() -> None:
    """Attach the methods PyTorch has for these functions, and the pure front ends."""
    from .. import torch_functions  # the package's namespace: every module's functions

    for name in _METHODS:
        if name not in Tensor.__dict__:
            setattr(Tensor, name, getattr(torch_functions, name))
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
