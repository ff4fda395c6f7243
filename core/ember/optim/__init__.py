"""``ember.optim``: optimizers and learning-rate schedulers with PyTorch's names and
update rules. Every optimizer steps with one fused op call per parameter group (a
backend's multi-tensor kernel, or the op's decomposition into tensor ops, which any
device runs); Adagrad, Adamax, NAdam, RAdam, Adadelta and Rprop take PyTorch's
``foreach=False`` to run that decomposition parameter by parameter."""

from __future__ import annotations

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam",
           "RAdam", "Adadelta", "Rprop", "lr_scheduler"]
