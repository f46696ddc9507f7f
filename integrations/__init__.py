"""Integrations with the engines users already run (``ganapps.integrations.spark``).

Each integration imports its engine lazily: ``import ganapps`` never needs them installed.
"""
