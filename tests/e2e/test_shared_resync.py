"""Reopening a shared folder costs what changed, not the folder's size:
in a new session a QRESYNC SELECT from what the local index knows; in the
same session the remote selection the folder left behind, brought up to
date with a NOOP sent together with a MYRIGHTS (a selection is resumed
only while a new SELECT would be allowed; tests/storage_folder.rs has the
refusal).
Either way bob sees exactly what alice sees."""

import re

import pytest

from support.cluster import seed_team_folder

TEAM = '"shared/alice/Team"'


@pytest.fixture
def cluster(make_cluster):
    cluster = make_cluster(shared_imapc=True, rawlog=("alice",))
    seed_team_folder(cluster, count=8)
    cluster.share("alice", "Team", "bob", "lookup read")
    return cluster


def alice_changes(cluster, flag_seq, expunge_seq, subject):
    alice = cluster.login("alice")
    alice.select("Team")
    alice.store(str(flag_seq), "+FLAGS", "(\\Flagged)")
    alice.store(str(expunge_seq), "+FLAGS", "(\\Deleted)")
    alice.expunge()
    alice.append("Team", None, None, f"Subject: {subject}\r\n\r\nnew\r\n".encode())
    alice.logout()


def flags_by_uid(imap):
    status, data = imap.fetch("1:*", "(UID FLAGS)")
    assert status == "OK", data
    return [re.sub(rb" ?\\Recent", b"", d) for d in data]


def alices_flags_by_uid(cluster):
    alice = cluster.login("alice")
    alice.select("Team", readonly=True)
    flags = flags_by_uid(alice)
    alice.logout()
    return flags


def reopen(cluster, imap):
    """EXAMINE of the folder: the commands alice's backend got for it."""
    before = len(cluster.remote_commands("alice"))
    status, data = imap.select(TEAM, readonly=True)
    assert status == "OK", data
    return cluster.remote_commands("alice")[before:]


def selects_and_full_fetches(commands):
    return [c for c in commands if c.startswith(("SELECT", "EXAMINE")) or "1:*" in c]


def test_reopening_in_the_same_session_asks_only_what_changed(cluster):
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    assert bob.unselect()[0] == "OK"
    alice_changes(cluster, flag_seq=2, expunge_seq=1, subject="after close")
    commands = reopen(cluster, bob)
    assert selects_and_full_fetches(commands) == [], commands
    # One round trip for whether bob may still read it and what changed,
    # then only the new message's flags.
    assert [c.split(" ")[0] for c in commands[:2]] == ["MYRIGHTS", "NOOP"], commands
    assert commands[2:] == ["UID FETCH 9:* (UID FLAGS MODSEQ)"], commands
    assert flags_by_uid(bob) == alices_flags_by_uid(cluster)
    assert bob.fetch("8", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1].strip() == b"Subject: after close"
    bob.logout()


def test_reopening_in_a_new_session_resyncs_from_the_index(cluster):
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    bob.logout()
    alice_changes(cluster, flag_seq=3, expunge_seq=2, subject="between sessions")
    bob = cluster.login("bob")
    commands = reopen(cluster, bob)
    selects = selects_and_full_fetches(commands)
    assert len(selects) == 1 and "(QRESYNC (" in selects[0], commands
    assert flags_by_uid(bob) == alices_flags_by_uid(cluster)
    bob.logout()


def test_a_folder_another_session_synced_meanwhile_reopens_right(cluster):
    # Both of bob's sessions share his local index of the folder.
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    bob.unselect()
    alice_changes(cluster, flag_seq=1, expunge_seq=4, subject="first")
    other = cluster.login("bob")
    other.select(TEAM, readonly=True)
    other.logout()
    alice_changes(cluster, flag_seq=2, expunge_seq=5, subject="second")
    reopen(cluster, bob)
    assert flags_by_uid(bob) == alices_flags_by_uid(cluster)
    bob.logout()

