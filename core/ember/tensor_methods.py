"""The one place that attaches methods to ``Tensor`` after its class body.

``ember.tensor`` defines what a tensor *is* (storage, device, dtype, shape, version
counter) and its hand-written methods (``to``, ``item``, ``numpy``, ``requires_grad_`` …).
Methods that belong to layers above it are attached here, once, when ``import ember``
has imported those layers:

* every op declared with ``method=True`` and the Python operators (``t.sum()``,
  ``a + b``), plus front ends such as ``__getitem__`` and ``new_zeros``
  (``ember.ops._methods``);
* autograd's ``backward``, ``register_hook``, ``retain_grad`` and the graph-cutting
  ``detach``/``data`` (``ember.autograd.tensor_methods``);
* DLPack's ``__dlpack__``/``__dlpack_device__`` (``ember.dlpack``);
* the Array API standard's ``__array_namespace__``, ``to_device``, ``mT`` and shift
  operators (``ember.array_api``);
* the methods of PyTorch's front-end functions (``ravel``, ``median`` …) and ``byte``,
  ``nelement``, ``H``, ``is_cuda`` … (``ember.torch_functions.methods``).

``core/ember/tensor.pyi`` lists the result for editors and type checkers; it is generated
from the attached class by ``scripts/gen_tensor_stub.py`` and a test keeps it current.
The one method installed later is ``__del__``, and only while memory statistics are
observed (``tensor.observe_releases``): a finalizer costs every tensor's deallocation.
"""

from __future__ import annotations

from . import array_api, dlpack, torch_functions
from .autograd import tensor_methods as _autograd_methods
from .ops import _methods as _op_methods

__all__ = ["attach"]


def attach() -> None:
    """Attach the methods listed above to ``Tensor`` (idempotent; ``import ember`` calls
    it).  Autograd's go first: ops attach only names the class does not define."""
    _autograd_methods.install()
    _op_methods.install()
    dlpack._install_methods()
    array_api._install_methods()
    torch_functions.install_methods()
