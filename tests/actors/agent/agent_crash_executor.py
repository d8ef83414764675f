"""A custom executor module for the agent tests: it exits at once with status 3."""

from __future__ import annotations

if __name__ == "__main__":
    raise SystemExit(3)
