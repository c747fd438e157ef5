"""The listing cache: what an owner's server listed for bob serves bob's
next sessions for `shared_imapc_list_cache_time` without a login, so a
client that lists at every connect does not cost the cluster one login per
owner each time. Opening a folder still asks the owner's server; an owner
who stops sharing leaves the shared dictionary and the listing at once."""

import os
import stat
import time

from support.cluster import seed_team_folder

TEAM = '"shared/alice/Team"'


def team_cluster(make_cluster, extra=""):
    cluster = make_cluster(shared_imapc=True, backend_config=extra)
    seed_team_folder(cluster)
    seed_team_folder(cluster, folder="Plans", count=1)
    cluster.share("alice", "Team", "bob", "lookup read")
    return cluster


def bob_lists(cluster):
    bob = cluster.login("bob")
    status, lines = bob.list('""', "shared/*")
    bob.logout()
    assert status == "OK", lines
    return sorted(line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if line)


def test_the_next_session_lists_without_logging_in(make_cluster):
    cluster = team_cluster(make_cluster)
    assert bob_lists(cluster) == ["shared/alice", "shared/alice/Team"]
    assert cluster.master_logins("bob", 1) == 1
    assert bob_lists(cluster) == ["shared/alice", "shared/alice/Team"]
    assert cluster.master_logins("bob", 1) == 1, "the second session logged in again"
    # Reading the folder asks the owner's server as always.
    bob = cluster.login("bob")
    assert bob.select(TEAM, readonly=True) == ("OK", [b"5"])
    bob.logout()
    assert cluster.master_logins("bob", 2) == 2
    cache = cluster.home("bob") / ".shared_imapc.lists"
    mode = cache.stat()
    assert stat.S_IMODE(mode.st_mode) & 0o077 == 0, oct(mode.st_mode)
    assert mode.st_uid == os.stat(cluster.home("bob")).st_uid


def test_a_folder_unshared_meanwhile_cannot_be_opened_and_leaves_the_listing(make_cluster):
    cluster = team_cluster(make_cluster, "plugin {\n  shared_imapc_list_cache_time = 2s\n}\n")
    cluster.share("alice", "Plans", "bob", "lookup read")
    assert bob_lists(cluster) == ["shared/alice", "shared/alice/Plans", "shared/alice/Team"]
    cluster.backend_of("alice").doveadm("acl", "delete", "-u", "alice", "Team", "user=bob")
    bob = cluster.login("bob")
    assert bob.select(TEAM, readonly=True)[0] == "NO"
    assert bob.status(TEAM, "(MESSAGES)")[0] == "NO"
    bob.logout()
    time.sleep(2.1)
    assert bob_lists(cluster) == ["shared/alice", "shared/alice/Plans"]


def test_an_owner_who_stops_sharing_is_not_listed_at_once(make_cluster):
    cluster = team_cluster(make_cluster)
    assert bob_lists(cluster) == ["shared/alice", "shared/alice/Team"]
    cluster.backend_of("alice").doveadm("acl", "delete", "-u", "alice", "Team", "user=bob")
    assert bob_lists(cluster) == []


def test_a_cache_time_of_zero_asks_the_owner_every_session(make_cluster):
    cluster = team_cluster(make_cluster, "plugin {\n  shared_imapc_list_cache_time = 0\n}\n")
    for session in (1, 2):
        assert bob_lists(cluster) == ["shared/alice", "shared/alice/Team"]
        assert cluster.master_logins("bob", session) == session
    assert not (cluster.home("bob") / ".shared_imapc.lists").exists()
