"""Subscriptions to shared folders. The shared namespace has `subscriptions
= no`, so SUBSCRIBE stores the full name in the viewer's own subscriptions
(as Dovecot does for any namespace without subscriptions of its own); LSUB,
`LIST (SUBSCRIBED)` and `LIST … RETURN (SUBSCRIBED)` list them with the
flags the owner's server gives the folder, and with what is known while
that server is unreachable, never an error for the whole listing."""

import re

import pytest

from support.cluster import seed_team_folder

PROJECTS = "shared/alice/Projects"
TEAM = "shared/alice/Team"

# `(flags) "sep" name [extended data]`, the name quoted or an atom.
ENTRY = re.compile(rb'^\(([^)]*)\) (?:"[^"]*"|NIL) ("(?:[^"\\]|\\.)*"|[^ ]+)')


def entries(status, lines):
    """{name: set of flags} of a LIST or LSUB answer."""
    assert status == "OK", lines
    found = {}
    for line in lines:
        if not line:
            continue
        m = ENTRY.match(line)
        assert m, line
        found[m.group(2).decode().strip('"')] = set(m.group(1).decode().split())
    return found


def lsub(imap):
    return entries(*imap.lsub('""', '"*"'))


def list_subscribed(imap, *return_options):
    status, data = imap._simple_command("LIST", "(SUBSCRIBED)", '""', '"*"', *return_options)
    return entries(status, imap.untagged_responses.pop("LIST", []) if status == "OK" else data)


def list_returning_subscribed(imap, pattern='"*"'):
    status, data = imap._simple_command("LIST", '""', pattern, "RETURN", "(SUBSCRIBED)")
    return entries(status, imap.untagged_responses.pop("LIST", []) if status == "OK" else data)


@pytest.fixture
def cluster(make_cluster):
    cluster = make_cluster(shared_imapc=True)
    assert cluster.backend_of("alice") is not cluster.backend_of("bob")
    for folder in ("Projects", "Team"):
        seed_team_folder(cluster, folder=folder)
        cluster.share("alice", folder, "bob", "lookup read")
    return cluster


def test_subscribed_shared_folders_are_listed_with_the_owners_flags(cluster):
    # What alice's own server answers for her own subscribed folder.
    alice = cluster.login("alice")
    assert alice.subscribe("Projects")[0] == "OK"
    owners = list_subscribed(alice)["Projects"]
    owners_with_children = list_subscribed(alice, "RETURN", "(CHILDREN)")["Projects"]
    assert "\\Subscribed" in owners and "\\HasNoChildren" in owners_with_children
    alice.logout()

    bob = cluster.login("bob")
    assert bob.subscribe(f'"{PROJECTS}"')[0] == "OK"
    assert lsub(bob) == {PROJECTS: set()}
    assert list_subscribed(bob) == {PROJECTS: owners}
    assert list_subscribed(bob, "RETURN", "(CHILDREN)") == {PROJECTS: owners_with_children}
    listed = list_returning_subscribed(bob)
    assert listed[PROJECTS] == owners
    assert "\\Subscribed" not in listed[TEAM]
    bob.logout()

    # The subscription is bob's, kept across sessions.
    bob = cluster.login("bob")
    assert list_subscribed(bob) == {PROJECTS: owners}
    assert lsub(bob) == {PROJECTS: set()}
    bob.logout()


def test_a_subscribed_folder_the_owner_deleted_is_listed_as_dovecot_lists_its_own(cluster):
    alice = cluster.login("alice")
    alice.create("Gone")
    assert alice.subscribe("Gone")[0] == "OK"
    cluster.share("alice", "Gone", "bob", "lookup read")
    bob = cluster.login("bob")
    assert bob.subscribe('"shared/alice/Gone"')[0] == "OK"
    assert alice.delete("Gone")[0] == "OK"
    owners = list_subscribed(alice)["Gone"]
    assert "\\NonExistent" in owners and "\\Subscribed" in owners
    assert list_subscribed(bob)["shared/alice/Gone"] == owners
    assert "shared/alice/Gone" in lsub(bob)
    bob.logout()
    alice.logout()


def test_unsubscribing_a_shared_folder(cluster):
    bob = cluster.login("bob")
    for folder in (PROJECTS, TEAM):
        assert bob.subscribe(f'"{folder}"')[0] == "OK"
    assert set(lsub(bob)) == {PROJECTS, TEAM}
    assert bob.unsubscribe(f'"{PROJECTS}"')[0] == "OK"
    assert set(lsub(bob)) == {TEAM}
    assert set(list_subscribed(bob)) == {TEAM}
    listed = list_returning_subscribed(bob)
    assert "\\Subscribed" not in listed[PROJECTS] and "\\Subscribed" in listed[TEAM]
    bob.logout()


@pytest.mark.parametrize("list_cache_time", ["30s", "0"])
def test_subscriptions_are_listed_while_the_owners_server_is_down(make_cluster, list_cache_time):
    # With the listing cache (30 s) the owner's flags are known from
    # bob's last session; without it, only the subscription is.
    cluster = make_cluster(shared_imapc=True,
                           backend_config=f"plugin {{\n  shared_imapc_list_cache_time = {list_cache_time}\n}}\n")
    seed_team_folder(cluster, folder="Projects")
    cluster.share("alice", "Projects", "bob", "lookup read")
    bob = cluster.login("bob")
    assert bob.subscribe(f'"{PROJECTS}"')[0] == "OK"
    assert bob.subscribe("INBOX")[0] == "OK"
    bob.logout()
    cluster.backend_of("alice").crash()
    bob = cluster.login("bob")
    assert lsub(bob) == {"INBOX": set(), PROJECTS: set()}
    subscribed = list_subscribed(bob, "RETURN", "(CHILDREN)")
    assert set(subscribed) == {"INBOX", PROJECTS}
    # Known: subscribed, and from the cache what the owner's server listed;
    # never \NonExistent for a folder it could not be asked about.
    known = {"\\Subscribed"} | ({"\\HasNoChildren"} if list_cache_time != "0" else set())
    assert subscribed[PROJECTS] == known
    # A plain LIST lists what is known too, never a NO for the whole LIST.
    listed = list_returning_subscribed(bob)
    assert "INBOX" in listed and "\\Subscribed" in listed[PROJECTS]
    # Unsubscribing needs nothing from the owner's server either.
    assert bob.unsubscribe(f'"{PROJECTS}"')[0] == "OK"
    assert lsub(bob) == {"INBOX": set()}
    assert set(list_subscribed(bob)) == {"INBOX"}
    bob.logout()
