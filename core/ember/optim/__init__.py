"""``ember.optim``: optimizers and learning-rate schedulers with PyTorch's names and
update rules. SGD, Adam(W) and RMSprop step with one fused op call per parameter group;
Adagrad, Adamax, NAdam, RAdam, Adadelta and Rprop are compositions of tensor ops per
parameter (any device runs them)."""

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
