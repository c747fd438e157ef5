"""Searches that last in a shared folder: CONTEXT=SEARCH updates
(RFC 5267) follow the owner's and the viewer's changes."""

import re

import pytest

from support.cluster import seed_team_folder

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
    tag = imap._new_tag().decode()
    imap.send(f"{tag} {command}\r\n".encode())
    lines = []
    while not (line := imap.readline().decode()).startswith(tag + " "):
        assert line, (command, "connection closed", lines)
        lines.append(line.rstrip("\r\n"))
    assert line.split()[1] == "OK", (command, line, lines)
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
