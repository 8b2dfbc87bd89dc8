"""`{{ amount_fen|yuan }}` → "1,234.56": money is integer fen everywhere else."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


@register.filter
def percent_bp(basis_points: int) -> str:
    return f"{int(basis_points) / 100:g}%"


@register.filter(name="absolute")
def absolute(value: int) -> int:
    return abs(int(value))
