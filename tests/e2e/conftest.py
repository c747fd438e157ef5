"""Fixtures for the end-to-end tests: real Dovecot clusters on loopback."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.cluster import Cluster  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def make_cluster(request):
    """Starts clusters for one test; stops them after it, printing every
    instance's log when the test failed."""
    clusters = []

    def make(**kwargs) -> Cluster:
        cluster = Cluster(**kwargs)
        clusters.append(cluster)
        return cluster.start()

    yield make
    failed = any(getattr(request.node, f"report_{w}", None) and getattr(request.node, f"report_{w}").failed
                 for w in ("setup", "call"))
    for cluster in clusters:
        if failed:
            print(cluster.logs())
        cluster.remove()
