"""Agora: one search over every local e-commerce platform of a territory."""

__version__ = "0.1.0"
