"""ember.kit — build an ember backend from any Python Array API namespace.

A library that follows the Array API standard (array-api-strict, numpy >= 2,
dpnp / dpctl.tensor, cupy, ...) becomes an ember backend in a few lines::

    # ember_mydev/__init__.py   (entry point:  [project.entry-points.ember] mydev = "ember_mydev")
    import ember
    import mylib
    from ember.kit import ArrayAPIBackend

    EMBER_PLUGIN_API = "1.0"

    @ember.hookimpl
    def ember_backend_create():
        return ArrayAPIBackend(mylib, device_type="mydev", name="mylib on MyDevice")

The builder gives every *primitive* op of ember's registry a kernel written once over
the standard (``ember.kit.primitives``); composite ops then run through their
decompositions.  Hooks for what the standard lacks and for per-library fast paths:

* ``implementations={"erf": my_erf}`` — for any ember op, primitive or composite (names
  that are not ops are refused): ``impl(ns, *args)`` receives the
  :class:`~ember.kit.namespace.Namespace` (``ns.xp`` is the library; ``ns.dtype``,
  ``ns.device``, ``ns.axes``, ``ns.operands`` translate ember's arguments) and the
  kernel's arguments in schema order, tensors as the library's own arrays, and
  returns the library's arrays.  It replaces or adds to the kit's table.
* ``implementations={"index_put_": accumulating_index_put(cupyx.scatter_add)}`` —
  the library's own O(n) scatter-add (``np.add.at``, ``cupyx.scatter_add``) for every
  accumulating write: scatter_add, index_add and the backward of gather, indexing,
  embedding and max-pool.
* ``fast(torch.lt, 2)(entry)`` — an entry for a pointwise op whose common case (arrays
  of one non-bool dtype) is a library function called directly (the kit's own
  pointwise kernels, matmul, sum and prod do this with the standard's functions; for
  a wrapper namespace such as ``array_api_compat.torch``, with the wrapped library's
  own functions where the wrapper only fixes mixed-dtype promotion).
* ``backend.kernels["softmax"] = fn`` after construction — a native kernel (see
  docs/architecture.md, "Kernel calling convention") over the library's arrays, e.g. a
  fused one; ``backend.library_kernel(name)`` reads one back in that form.
* ``exclude=("matmul",)`` — leave an op to its decomposition / the CPU fallback.
* ``dtype_errors=`` — the exception types by which the library refuses a dtype (any
  ``Exception`` by default): pointwise ops on bool operands that raise one retry in int8.
* ``host_copies={ember.bfloat16: (to_library, to_numpy)}`` — host copies of dtypes the
  library cannot exchange with numpy by itself.
* Subclass and override ``synchronize``, ``new_generator`` (device RNG; the default
  draws on the host with numpy's PCG64 and copies in), ``create_allocator``,
  ``describe``, ``copy_from``.
* ``devices=[...]`` — the library's device objects, one per ember index.

Libraries whose arrays report numpy dtypes (numpy, cupy, dpnp) are used directly as
ember's native arrays.  Others (array-api-strict, torch) are wrapped in
:class:`KitArray`, which kernels never see; wrapped arrays are counted by an
:class:`AccountingAllocator` from the first memory query on, so the ``ember.memory``
statistics and out-of-memory (set ``.limit`` on the allocator) work.
``missing_primitives(backend)`` lists what is still missing; ``ember conformance
--device mydev`` says whether the result works.

The worked example is ``plugins/reference`` (array-api-strict); the guide is
``docs/writing-a-backend.md``.
"""

from __future__ import annotations

from .backend import (AccountingAllocator, ArrayAPIBackend, KitArray, missing_primitives,
                      primitive_ops)
from .namespace import Namespace
from .primitives import IMPLEMENTATIONS, STANDARD_NAMES, accumulating_index_put, fast, impl

__all__ = ["ArrayAPIBackend", "KitArray", "AccountingAllocator", "Namespace",
           "IMPLEMENTATIONS", "STANDARD_NAMES", "impl", "fast", "accumulating_index_put",
           "missing_primitives",
           "primitive_ops"]
