"""Indexing (basic, integer and boolean), assignment, gather/scatter, masks, sort."""

from __future__ import annotations

__all__: list[str] = []
