"""ember.autograd: tape-based automatic differentiation.

Ops called on tensors that require grad (while grad mode is on) go through the
dispatcher's Autograd key, which runs the op below itself and records a node holding
the op's derivative (declared beside the op's schema, see :mod:`.rules`).
``Tensor.backward()`` / :func:`grad` walk the nodes in reverse.  Derivatives are ember
ops, so autograd runs on every backend and differentiates itself
(``create_graph=True``).
"""

from __future__ import annotations

from .. import dispatch as _dispatch
from . import functional, graph, rules
from .anomaly import (detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled,
                      set_detect_anomaly)
from .api import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled, no_grad, set_grad_enabled)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import Node
from .recording import autograd_kernel as _autograd_kernel
from .rules import derivative

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable",
           "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "is_inference_mode_enabled", "gradcheck", "gradgradcheck",
           "GradcheckError", "Node", "derivative", "functional", "graph", "rules",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

_dispatch.register_fallback("Autograd", _autograd_kernel)
