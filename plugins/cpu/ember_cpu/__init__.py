"""ember-cpu: the CPU backend, over numpy.

Native arrays are numpy ndarrays, so views are numpy views and ``Tensor.numpy()``
shares memory.  numpy allocates by itself; the backend's allocator observes those
allocations for ``ember.memory`` statistics.
"""

from __future__ import annotations

import ember

from .backend import CPUBackend

EMBER_PLUGIN_API = "1.3"
__version__ = "0.1.0"
__all__ = ["CPUBackend", "EMBER_PLUGIN_API"]


@ember.hookimpl
def ember_backend_create():
    return CPUBackend()


@ember.hookimpl
def ember_graph_executor(graph, device_type):
    # ember.jit graphs on the CPU: the core's native-array executor over these kernels
    if device_type != "cpu":
        return None
    from .graph_executor import compile_graph
    return compile_graph(graph)


@ember.hookimpl
def ember_tensor_reduce(tensor, strategy):
    # numpy storage can live in host shared memory: send the pages, not a copy.
    if tensor.device.type != "cpu":
        return None
    from ember.multiprocessing.reductions import reduce_shared_host
    return reduce_shared_host(tensor, strategy)
