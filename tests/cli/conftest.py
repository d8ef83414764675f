"""The real-process ``cluster`` fixture of tests/e2e, for the CLI's live tests."""

from tests.e2e.conftest import cluster, pytest_runtest_makereport

__all__ = ["cluster", "pytest_runtest_makereport"]
