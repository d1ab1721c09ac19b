"""The check's own exceptions: each becomes one UNKNOWN line, never a traceback."""

from __future__ import annotations


class ConfigError(Exception):
    """Bad input from the operator: reported as UNKNOWN with this one-line message."""
