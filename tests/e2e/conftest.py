"""Fixtures for the end-to-end tests: real Dovecot clusters on loopback."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.cluster import Cluster  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed setup or test shows every Dovecot instance's log."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for cluster in getattr(item, "sic_clusters", []):
            report.sections.append((f"Dovecot logs ({cluster.root})", cluster.logs()))


@pytest.fixture
def make_cluster(request):
    """Starts clusters for one test and removes them after it."""
    clusters = []
    request.node.sic_clusters = clusters

    def make(**kwargs) -> Cluster:
        cluster = Cluster(**kwargs)
        clusters.append(cluster)
        return cluster.start()

    yield make
    for cluster in clusters:
        cluster.remove()
