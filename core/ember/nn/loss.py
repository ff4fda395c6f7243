"""Loss layers: ``MSELoss``, ``L1Loss``, ``CrossEntropyLoss``, ``NLLLoss``, ``BCELoss``,
``BCEWithLogitsLoss``."""

from __future__ import annotations

from ..errors import OpError
from ..ops import nn as _nn
from ..tensor import Tensor
from . import functional as F
from ._errors import layer_error
from .module import Module

__all__ = ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F._legacy_reduction(type(self).__name__, size_average, reduce,
                                             reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error between input and target of the same shape."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        try:
            return _nn.mse_loss(input, target, self.reduction)
        except OpError as e:
            raise layer_error(self, e, input, target) from None


class L1Loss(_Loss):
    """Mean absolute error between input and target of the same shape."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        try:
            return _nn.l1_loss(input, target, self.reduction)
        except OpError as e:
            raise layer_error(self, e, input, target) from None


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities at class indices."""

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        try:
            return _nn.nll_loss(input, target, self.weight, self.reduction, self.ignore_index)
        except OpError as e:
            raise layer_error(self, e, input, target) from None


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits against class indices or class probabilities, with
    ``ignore_index`` and ``label_smoothing``."""

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        try:
            return _nn.cross_entropy(input, target, self.weight, self.reduction,
                                     self.ignore_index, self.label_smoothing)
        except OpError as e:
            raise layer_error(self, e, input, target) from None


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        try:
            return _nn.binary_cross_entropy(input, target, self.weight, self.reduction)
        except OpError as e:
            raise layer_error(self, e, input, target) from None


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits (stable), with ``pos_weight``."""

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Tensor | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        try:
            return _nn.binary_cross_entropy_with_logits(input, target, self.weight,
                                                        self.pos_weight, self.reduction)
        except OpError as e:
            raise layer_error(self, e, input, target) from None
