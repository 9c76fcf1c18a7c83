"""Contexts name where a measure or a benefit applies ("public tender", "rail ticket")."""

from __future__ import annotations


def normalize_context(context: str) -> str:
    """'Public Tender' -> 'public_tender': contexts are compared as identifiers."""
    return "_".join(context.strip().lower().replace("-", " ").replace("_", " ").split())
