"""Batch sources for tests (imported by the workers too)."""

from __future__ import annotations

from collections.abc import Iterator


def numbered(*, count: int, prefix: str, after: str | None = None) -> Iterator[tuple[str, dict[str, str], str]]:
    start = int(after.rsplit(":", 1)[1]) + 1 if after else 0
    for i in range(start, count):
        yield (
            f"139{i:08d}",
            {"code": f"C{i:06d}", "link": f"/s/{i}", "right_name": "咖啡券", "expiry": "12-31"},
            (f"{prefix}:{i:06d}"),
        )


numbered.count = lambda *, count, prefix: count  # type: ignore[attr-defined]
