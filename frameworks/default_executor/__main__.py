"""``python -m frameworks.default_executor``: how the agent starts the default executor."""

from __future__ import annotations

import sys

from frameworks.default_executor.client import Endpoint
from frameworks.default_executor.executor import DefaultExecutor


def main() -> int:
    try:
        endpoint = Endpoint.from_environment()
    except (KeyError, ValueError) as exc:
        print(f"the default executor needs Mesos' executor environment: {exc}", file=sys.stderr)
        return 1
    return DefaultExecutor(endpoint).run()


if __name__ == "__main__":
    raise SystemExit(main())
