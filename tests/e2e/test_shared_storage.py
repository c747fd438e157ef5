"""The shared_imapc storage end to end: alice (backend A) shares a folder
with bob (backend B); bob reads it through the proxy as alice with himself
as master user, so alice's backend applies bob's rights."""

import pytest

from support.cluster import seed_team_folder


@pytest.fixture
def cluster(make_cluster):
    cluster = make_cluster(shared_imapc=True)
    assert cluster.backend_of("alice") is not cluster.backend_of("bob")
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read")
    return cluster


def listed(imap, pattern):
    status, lines = imap.list('""', pattern)
    assert status == "OK", lines
    return sorted(line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if line)


def test_bob_lists_selects_and_fetches_alices_folder(cluster):
    bob = cluster.login("bob")
    assert listed(bob, "shared/*") == ["shared/alice", "shared/alice/Team"]
    status, data = bob.select('"shared/alice/Team"', readonly=True)
    assert status == "OK" and data == [b"5"]
    status, data = bob.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK"
    subjects = [part[1].decode().strip() for part in data if isinstance(part, tuple)]
    assert subjects == [f"Subject: Message {n}" for n in range(1, 6)]
    bob.logout()
