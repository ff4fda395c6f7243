"""``Embedding``: a lookup table of learnable vectors."""

from __future__ import annotations

from .. import ops as _ops
from ..errors import OpError
from ..ops.nn import embedding as _embedding
from ..tensor import Tensor
from . import init
from ._errors import layer_error
from .module import Module, no_grad
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """Maps integer indices to rows of ``weight`` (num_embeddings, embedding_dim),
    initialised from N(0, 1); the ``padding_idx`` row starts at zero and gets no
    gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: int | None = None, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | None = None, _freeze: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: max_norm, scale_grad_by_freq and sparse "
                                      "are not supported")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"num_embeddings ({num_embeddings})")
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(_ops.empty((num_embeddings, embedding_dim), device=device,
                                               dtype=dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {list(_weight.shape)}, "
                                 f"expected [{num_embeddings}, {embedding_dim}]")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        if embeddings.ndim != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        n, d = embeddings.shape
        return cls(n, d, padding_idx=padding_idx, _weight=embeddings.detach().clone(),
                   _freeze=freeze)

    def forward(self, input: Tensor) -> Tensor:
        try:
            return _embedding(input, self.weight, self.padding_idx)
        except OpError as e:
            raise layer_error(self, e, input) from None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
