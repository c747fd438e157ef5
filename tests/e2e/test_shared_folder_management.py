"""Folder management inside shared folders (issue #17, item 4): bob's
CREATE, RENAME and DELETE of alice's folders are done by alice's server,
with bob's rights there (his session there is alice's, with bob as master
user), and answer what it answers; bob's local cache of a renamed or
deleted folder goes with it, and his listings show the change at once.

The reference for the owner's answers is the owner's server itself: the
same command in a session that bob opens there as alice with himself as
master user (`direct`), which is what Dovecot's built-in imapc sends."""

import imaplib
import re

import pytest

from support.cluster import seed_team_folder


def make_cluster_with(make_cluster, rights):
    """alice's Team (5 messages) and Team/Old (3 messages "Old N"), each
    shared with bob with the rights given."""
    cluster = make_cluster(shared_imapc=True)
    assert cluster.backend_of("alice") is not cluster.backend_of("bob")
    seed_team_folder(cluster)
    seed_team_folder(cluster, folder="Team/Old", count=3, subject="Old")
    for folder, granted in rights.items():
        cluster.share("alice", folder, "bob", granted)
    return cluster


def listed(imap, pattern):
    status, lines = imap.list('""', pattern)
    assert status == "OK", lines
    return sorted(line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if line)


def alices_folders(cluster):
    alice = cluster.login("alice")
    try:
        return listed(alice, "*")
    finally:
        alice.logout()


def bob_lists(cluster):
    """What a new session of bob lists (the listing cache serves it)."""
    bob = cluster.login("bob")
    try:
        return listed(bob, "shared/alice/*")
    finally:
        bob.logout()


def cache_dirs(cluster):
    """bob's local cache directories of alice's folders."""
    root = cluster.home("bob") / "shared" / "alice"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())


def direct(cluster, command, *args):
    """The owner's server's own answer to bob: `command` in a session as
    alice with bob as master user, through the proxy."""
    imap = imaplib.IMAP4(cluster.proxy.address, cluster.proxy.port)
    imap.login("alice*bob", cluster.master_password)
    try:
        return imap._simple_command(command, *args)
    finally:
        imap.logout()


def without_timing(text: bytes) -> bytes:
    return re.sub(rb" \([0-9.+ ]+ secs\)\.$", b".", text)


def subjects(imap):
    status, data = imap.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK", data
    return [(re.search(rb"UID (\d+)", part[0]).group(1).decode(), part[1].decode().strip())
            for part in data if isinstance(part, tuple)]


def test_create_with_the_create_right_is_done_on_the_owners_server(make_cluster):
    cluster = make_cluster_with(make_cluster, {"Team": "lookup read create"})
    # A first session leaves alice's listing in bob's listing cache.
    assert bob_lists(cluster) == ["shared/alice/Team"]
    bob = cluster.login("bob")
    status, data = bob.create('"shared/alice/Team/Sub"')
    assert status == "OK", data
    assert "Team/Sub" in alices_folders(cluster)
    # Created with Team's rights (Dovecot copies the parent's ACL), so bob
    # sees it at once, in his other sessions and in this one.
    assert bob_lists(cluster) == ["shared/alice/Team", "shared/alice/Team/Sub"]
    assert listed(bob, "shared/alice/*") == ["shared/alice/Team", "shared/alice/Team/Sub"]
    assert bob.select('"shared/alice/Team/Sub"', readonly=True) == ("OK", [b"0"])
    bob.logout()
    assert not cluster.backend_of("bob").problems(), cluster.backend_of("bob").problems()


def test_create_without_the_right_answers_the_owners_no(make_cluster):
    cluster = make_cluster_with(make_cluster, {"Team": "lookup read"})
    bob = cluster.login("bob")
    for local, remote in (("shared/alice/Team/Sub", "Team/Sub"), ("shared/alice/New", "New")):
        status, data = bob.create(f'"{local}"')
        expected = direct(cluster, "CREATE", f'"{remote}"')
        assert status == "NO" and expected[0] == "NO", (data, expected)
        assert without_timing(data[0]) == b"[NOPERM] alice's server: " + without_timing(expected[1][0]).split(b"] ", 1)[1]
    bob.logout()
    assert alices_folders(cluster) == ["INBOX", "Team", "Team/Old"]


def test_rename_within_the_owners_folders_moves_the_cache_along(make_cluster):
    cluster = make_cluster_with(make_cluster, {"Team": "lookup read create", "Team/Old": "lookup read create delete"})
    bob = cluster.login("bob")
    bob.select('"shared/alice/Team/Old"', readonly=True)
    before = subjects(bob)
    assert before == [("1", "Subject: Old 1"), ("2", "Subject: Old 2"), ("3", "Subject: Old 3")]
    uidvalidity = bob.response("UIDVALIDITY")[1]
    bob.unselect()
    assert "Team/Old" in cache_dirs(cluster)

    status, data = bob.rename('"shared/alice/Team/Old"', '"shared/alice/Team/New"')
    assert status == "OK", data
    folders = alices_folders(cluster)
    assert "Team/New" in folders and "Team/Old" not in folders
    assert "Team/Old" not in cache_dirs(cluster)
    assert "shared/alice/Team/Old" not in listed(bob, "shared/alice/*")
    assert bob.select('"shared/alice/Team/New"', readonly=True) == ("OK", [b"3"])
    assert bob.response("UIDVALIDITY")[1] == uidvalidity
    assert subjects(bob) == before
    bob.logout()
    assert not cluster.backend_of("bob").problems(), cluster.backend_of("bob").problems()


def test_rename_across_owners_or_namespaces_is_refused(make_cluster):
    all_but_admin = "lookup read create delete expunge"
    cluster = make_cluster_with(make_cluster, {"Team": all_but_admin, "Team/Old": all_but_admin})
    seed_team_folder(cluster, owner="carol", folder="Plans", count=1)
    cluster.share("carol", "Plans", "bob", all_but_admin)
    bob = cluster.login("bob")
    assert bob.create("Mine")[0] == "OK"
    for old, new in (("shared/alice/Team", "shared/carol/Team"), ("shared/alice/Team", "Team"),
                     ("Mine", "shared/alice/Mine")):
        status, data = bob.rename(f'"{old}"', f'"{new}"')
        assert status == "NO", (old, new, data)
        assert without_timing(data[0]) == b"[CANNOT] Can't rename mailboxes across specified storages."
    # Within alice's folders it is done.
    status, data = bob.rename('"shared/alice/Team/Old"', '"shared/alice/Team/Older"')
    assert status == "OK", data
    bob.logout()
    assert alices_folders(cluster) == ["INBOX", "Team", "Team/Older"]
    carol = cluster.login("carol")
    assert listed(carol, "*") == ["INBOX", "Plans"]
    carol.logout()


@pytest.mark.parametrize("while_selected", [False, True])
def test_delete_with_the_rights_removes_the_folder_and_its_cache(make_cluster, while_selected):
    # Dovecot 2.3.19 deletes a folder for a user other than its owner only
    # with the expunge right too (without it: "[CANNOT] Mailbox attributes
    # not enabled", see the test below).
    cluster = make_cluster_with(make_cluster, {"Team": "lookup read", "Team/Old": "lookup read delete expunge"})
    assert bob_lists(cluster) == ["shared/alice/Team", "shared/alice/Team/Old"]
    bob = cluster.login("bob")
    bob.select('"shared/alice/Team/Old"', readonly=True)
    assert len(subjects(bob)) == 3
    if not while_selected:
        bob.unselect()
    status, data = bob.delete('"shared/alice/Team/Old"')
    assert status == "OK", data
    assert alices_folders(cluster) == ["INBOX", "Team"]
    assert "Team/Old" not in cache_dirs(cluster)
    assert bob_lists(cluster) == ["shared/alice/Team"]
    if while_selected:
        # As Dovecot does for its own folders.
        with pytest.raises(imaplib.IMAP4.abort, match="Selected mailbox was deleted"):
            bob.noop()
        bob = cluster.login("bob")
    assert listed(bob, "shared/alice/*") == ["shared/alice/Team"]
    bob.logout()

    # A folder made anew under the name is read afresh.
    seed_team_folder(cluster, folder="Team/Old", count=2, subject="Renewed")
    cluster.share("alice", "Team/Old", "bob", "lookup read")
    bob = cluster.login("bob")
    bob.select('"shared/alice/Team/Old"', readonly=True)
    assert subjects(bob) == [("1", "Subject: Renewed 1"), ("2", "Subject: Renewed 2")]
    bob.logout()
    assert not cluster.backend_of("bob").problems(), cluster.backend_of("bob").problems()


def test_delete_without_the_rights_answers_the_owners_no(make_cluster):
    cluster = make_cluster_with(make_cluster, {"Team": "lookup read", "Team/Old": "lookup read delete"})
    bob = cluster.login("bob")
    bob.select('"shared/alice/Team/Old"', readonly=True)
    bob.unselect()
    for local, remote in (("shared/alice/Team", "Team"), ("shared/alice/Team/Old", "Team/Old")):
        status, data = bob.delete(f'"{local}"')
        expected = direct(cluster, "DELETE", f'"{remote}"')
        assert status == "NO" and expected[0] == "NO", (data, expected)
        code, text = without_timing(expected[1][0]).split(b"] ", 1)
        assert without_timing(data[0]) == code + b"] alice's server: " + text
    bob.logout()
    assert alices_folders(cluster) == ["INBOX", "Team", "Team/Old"]
    assert "Team/Old" in cache_dirs(cluster)


def test_an_unreachable_owner_changes_nothing(make_cluster):
    cluster = make_cluster_with(make_cluster, {"Team": "lookup read create delete expunge"})
    bob = cluster.login("bob")
    assert listed(bob, "shared/alice/*") == ["shared/alice/Team"]
    backend = cluster.backend_of("alice")
    backend.crash()
    for command in (lambda: bob.create('"shared/alice/Team/Sub"'),
                    lambda: bob.rename('"shared/alice/Team"', '"shared/alice/Team2"'),
                    lambda: bob.delete('"shared/alice/Team"')):
        status, data = command()
        assert status == "NO" and data[0].startswith(b"[UNAVAILABLE] alice"), data
        assert b"127.0.0.1" not in data[0]
    backend.start()
    bob.logout()
    assert alices_folders(cluster) == ["INBOX", "Team", "Team/Old"]
