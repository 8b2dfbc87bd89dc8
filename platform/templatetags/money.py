"""Money is integer fen everywhere; templates show it in yuan: `{{ fen|amount }}` → `5,000.00`,
`{{ fen|yuan }}` → `¥5,000.00`. Also `{{ bp|percent_bp }}` (basis points) and `|absolute`."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def amount(fen: int | None) -> str:
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


@register.filter
def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    formatted = amount(fen)
    return f"-¥{formatted[1:]}" if formatted.startswith("-") else f"¥{formatted}"


@register.filter
def percent_bp(basis_points: int) -> str:
    return f"{int(basis_points) / 100:g}%"


@register.filter(name="absolute")
def absolute(value: int) -> int:
    return abs(int(value))
