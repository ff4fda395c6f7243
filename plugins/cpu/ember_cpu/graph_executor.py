"""The CPU's graph executor: ``ember.jit`` graphs run on numpy arrays end to end.

The core's native-array executor (``ember.jit.native``) resolves each node of a graph
to this plugin's unboxed numpy kernel once, keeps intermediates as ndarrays and writes
in-place updates straight into the parameters' and optimizer state's arrays.
"""

from __future__ import annotations

__all__ = ["compile_graph"]


def compile_graph(graph):
    """``fn(*inputs) -> outputs`` for a graph of CPU ops (``ember_graph_executor``)."""
    from ember.jit.native import compile_native
    return compile_native(graph)
