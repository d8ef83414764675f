"""A custom executor module for the agent tests: it never registers (it just waits)."""

from __future__ import annotations

import time

if __name__ == "__main__":
    time.sleep(120)
