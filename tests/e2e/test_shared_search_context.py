"""Searches that last and \\Recent in a shared folder: CONTEXT=SEARCH
updates (RFC 5267) follow the owner's and the viewer's changes, and
\\Recent is the same in STATUS, SELECT, FETCH and SEARCH."""

import re

import pytest

from support.cluster import raw_command, seed_team_folder

SHARED = '"shared/alice/Team"'
NEW_MESSAGE = (
    b"From: alice@example.net\r\nTo: team@example.net\r\nSubject: Message 6\r\n"
    b"Date: Sat, 06 Jun 2025 10:00:00 +0000\r\nMessage-ID: <m6@example.net>\r\n\r\nBody 6\r\n"
)


@pytest.fixture
def cluster(make_cluster):
    cluster = make_cluster(shared_imapc=True)
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read write write-seen insert")
    return cluster


def run(imap, command):
    """Sends `command` raw; the lines up to its tagged answer (which is
    checked to be OK)."""
    status, lines = raw_command(imap, command)
    assert status == "OK", (command, status, lines)
    return lines


def updates(lines, tag):
    """The ESEARCH updates of search `tag` in `lines`: (kind, UID set)."""
    return [
        (kind, uids)
        for line in lines
        if line.startswith(f'* ESEARCH (TAG "{tag}") UID ')
        for kind, uids in re.findall(r"(ADDTO|REMOVEFROM) \(0 ([\d:,]+)\)", line)
    ]


@pytest.mark.parametrize("key", ["KEYWORD $X", "KEYWORD $X SUBJECT Message", "OR KEYWORD $X BODY nowhere"])
def test_search_updates_follow_both_sides_changes(cluster, key):
    alice = cluster.login("alice")
    bob = cluster.login("bob")
    assert "CONTEXT=SEARCH" in run(bob, "CAPABILITY")[0]
    run(alice, "SELECT Team")
    run(bob, f"SELECT {SHARED}")
    tag = bob._new_tag().decode()
    bob.tagnum -= 1  # run() takes the same tag again
    assert run(bob, f"UID SEARCH RETURN (UPDATE) {key}")[0] == f'* ESEARCH (TAG "{tag}") UID'

    run(alice, "UID STORE 2 +FLAGS ($X)")
    assert updates(run(bob, "NOOP"), tag) == [("ADDTO", "2")]
    assert updates(run(bob, "UID STORE 3 +FLAGS ($X)"), tag) == [("ADDTO", "3")]
    assert updates(run(bob, "UID STORE 2 -FLAGS ($X)"), tag) == [("REMOVEFROM", "2")]
    run(alice, "UID STORE 3 -FLAGS ($X)")
    assert updates(run(bob, "NOOP"), tag) == [("REMOVEFROM", "3")]
    alice.append("Team", "($X)", None, NEW_MESSAGE)
    assert updates(run(bob, "NOOP"), tag) == [("ADDTO", "6")]


def recent_of_select(lines):
    return int(next(line.split()[1] for line in lines if line.endswith(" RECENT")))


def search(imap, key):
    (line,) = [line for line in run(imap, f"UID SEARCH {key}") if line.startswith("* SEARCH")]
    return set(line.split()[2:])


def assert_recent_agrees(bob):
    """STATUS, SELECT, FETCH FLAGS and SEARCH tell one story: no message of
    a shared folder is \\Recent (README)."""
    status = run(bob, f"STATUS {SHARED} (RECENT MESSAGES)")
    assert re.search(r"RECENT 0\b", status[0]), status
    assert recent_of_select(run(bob, f"SELECT {SHARED}")) == 0
    assert not any("\\Recent" in line for line in run(bob, "FETCH 1:* FLAGS"))
    everything = search(bob, "ALL")
    assert search(bob, "RECENT") == search(bob, "NEW") == set()
    assert search(bob, "OLD") == everything
    # Also where the remote evaluates it.
    assert search(bob, "OR RECENT SUBJECT \"Message 1\"") == search(bob, "SUBJECT \"Message 1\"")
    assert search(bob, "OR NOT OLD BODY nowhere") == set()
    run(bob, "CLOSE")


def test_recent_is_the_same_in_status_select_fetch_and_search(cluster):
    alice = cluster.login("alice")
    bob = cluster.login("bob")
    assert_recent_agrees(bob)
    alice.append("Team", None, None, NEW_MESSAGE)
    assert_recent_agrees(bob)
    # New mail while bob has the folder open, seen by a NOOP.
    run(bob, f"SELECT {SHARED}")
    alice.append("Team", None, None, NEW_MESSAGE)
    noop = run(bob, "NOOP")
    assert "* 7 EXISTS" in noop
    assert [line for line in noop if re.fullmatch(r"\* [1-9]\d* RECENT", line)] == [], noop
    run(bob, "CLOSE")
    assert_recent_agrees(cluster.login("bob"))
