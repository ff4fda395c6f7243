"""``ember.jit``: trace a function into a graph of ember ops, replay it without dispatch,
save and load it.  See docs/jit.md."""

from __future__ import annotations

from .graph import Graph, Node
from .serialize import GraphFileError, LoadedGraph, load, save
from .traced import TracedFunction, trace
from .tracer import TracingError

__all__ = ["trace", "TracedFunction", "TracingError", "Graph", "Node", "save", "load",
           "LoadedGraph", "GraphFileError"]
