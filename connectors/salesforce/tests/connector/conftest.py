"""Fixtures of the call-shape tests."""

from .scripted import org

__all__ = ["org"]
