"""Money as people read it."""

from __future__ import annotations


def usd(value: float | None, unknown: str = "cost unknown") -> str:
    """US dollars with enough digits to be meaningful: one prompt costs fractions of a cent,
    so small amounts keep more decimals than a run's total ("$0.000150", "$0.0375", "$12.40")."""
    if value is None:
        return unknown
    if abs(value) < 0.01:
        return f"${value:.6f}"
    if abs(value) < 1:
        return f"${value:,.4f}"
    return f"${value:,.2f}"
