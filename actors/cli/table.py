"""Plain-text tables for the ``meseta`` CLI (pure): ``render(headers, rows)``, and sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["render", "resources_text"]


def render(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell, two spaces apart; ``-`` for empty cells."""
    cells = [[str(h) for h in headers]]
    cells += [["-" if v is None or v == "" else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    return "\n".join(lines) + "\n"


def resources_text(res: dict[str, Any] | None) -> str:
    """``cpus:0.1 mem:32`` from a resources JSON object (scalars only)."""
    if not res:
        return ""
    parts = []
    for name in ("cpus", "mem", "disk", "gpus"):
        value = res.get(name)
        if isinstance(value, int | float) and value:
            parts.append(f"{name}:{value:g}")
    return " ".join(parts)
