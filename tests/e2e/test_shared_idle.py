"""IDLE push: while bob's client idles in a folder alice shares with him,
the folder's remote session IDLEs on alice's server, and alice's changes
(new mail, flags, expunges) reach bob's IDLE at once. bob's backend checks
the remote every mailbox_idle_check_interval only where the remote has no
IDLE: set far above every wait here, so only a push can deliver."""

import re
import time

import pytest

from support.cluster import raw_command, seed_team_folder

TEAM = '"shared/alice/Team"'
# Far below mailbox_idle_check_interval (10 minutes).
WAIT = 20


def idle_cluster(make_cluster, extra=""):
    cluster = make_cluster(shared_imapc=True, rawlog=("alice",),
                           backend_config="mailbox_idle_check_interval = 10 mins\n" + extra)
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read write-seen write")
    return cluster


@pytest.fixture
def cluster(make_cluster):
    return idle_cluster(make_cluster)


def start_idle(imap) -> bytes:
    tag = imap._new_tag()
    imap.send(tag + b" IDLE\r\n")
    assert imap.readline().startswith(b"+")
    return tag


def wait_for(imap, pattern: bytes) -> bytes:
    """The first line matching `pattern` within WAIT seconds."""
    imap.sock.settimeout(WAIT)
    try:
        while True:
            line = imap.readline()
            assert line, "connection closed"
            if re.search(pattern, line):
                return line
    finally:
        imap.sock.settimeout(None)


def end_idle(imap, tag: bytes) -> None:
    imap.send(b"DONE\r\n")
    imap.sock.settimeout(WAIT)
    while not (line := imap.readline()).startswith(tag):
        assert line, "connection closed"
    imap.sock.settimeout(None)
    assert line.startswith(tag + b" OK"), line


def alice_does(cluster, *commands):
    alice = cluster.login("alice")
    alice.select("Team")
    for command in commands:
        status, data = command(alice)
        assert status == "OK", data
    alice.logout()


def test_alices_new_mail_flags_and_expunges_reach_bobs_idle(cluster):
    bob = cluster.login("bob")
    assert bob.select(TEAM) == ("OK", [b"5"])
    tag = start_idle(bob)
    alice_does(cluster, lambda a: a.append("Team", None, None, b"Subject: during idle\r\n\r\nhi\r\n"))
    wait_for(bob, rb"^\* 6 EXISTS")
    alice_does(cluster, lambda a: a.store("2", "+FLAGS", "(\\Flagged $Urgent)"))
    line = wait_for(bob, rb"^\* 2 FETCH ")
    assert b"\\Flagged" in line and b"$Urgent" in line, line
    alice_does(cluster, lambda a: a.store("1", "+FLAGS", "(\\Deleted)"), lambda a: a.expunge())
    wait_for(bob, rb"^\* 1 EXPUNGE")
    end_idle(bob, tag)
    # bob goes on, on the same remote session.
    status, data = bob.fetch("1:*", "(UID FLAGS)")
    assert status == "OK" and len(data) == 5, data
    assert b"$Urgent" in data[0], data
    assert bob.noop()[0] == "OK"
    bob.logout()
    assert cluster.master_logins("bob", 1) == 1, cluster.proxy.log()
    commands = cluster.remote_commands("alice")
    # Each change woke one sync, which IDLEs again after it.
    assert commands.count("IDLE") >= 4, commands
    assert cluster.problems() == {}


def test_the_remote_idle_is_renewed_before_the_servers_timeout(make_cluster):
    cluster = idle_cluster(make_cluster, "plugin {\n  shared_imapc_max_idle_time = 1s\n}\n")
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    tag = start_idle(bob)
    time.sleep(3.5)
    alice_does(cluster, lambda a: a.append("Team", None, None, b"Subject: later\r\n\r\nhi\r\n"))
    wait_for(bob, rb"^\* 6 EXISTS")
    end_idle(bob, tag)
    bob.logout()
    assert cluster.master_logins("bob", 1) == 1, cluster.proxy.log()
    # Renewed about every second: DONE, a NOOP, IDLE again.
    assert cluster.remote_commands("alice").count("IDLE") >= 3
    assert cluster.problems() == {}


def polled_cluster(make_cluster):
    """The owner's server announces no IDLE: bob's backend asks it every
    mailbox_idle_check_interval instead (1 s here)."""
    capabilities = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY THREAD=REFERENCES"
                    " THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS"
                    " LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN"
                    " CONTEXT=SEARCH LIST-STATUS BINARY MOVE LITERAL+ SPECIAL-USE NOTIFY")
    cluster = make_cluster(shared_imapc=True, rawlog=("alice",),
                           backend_config=f"mailbox_idle_check_interval = 1s\nimap_capability = {capabilities}\n")
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read")
    return cluster


def test_without_idle_on_the_remote_the_folder_is_polled(make_cluster):
    cluster = polled_cluster(make_cluster)
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    tag = start_idle(bob)
    alice_does(cluster, lambda a: a.append("Team", None, None, b"Subject: polled\r\n\r\nhi\r\n"))
    wait_for(bob, rb"^\* 6 EXISTS")
    end_idle(bob, tag)
    bob.logout()
    assert "IDLE" not in cluster.remote_commands("alice")
    assert cluster.problems() == {}


def test_notify_of_the_selected_folder_polls_the_remote_every_time(make_cluster):
    """NOTIFY's checks of the selected folder are no client command: each
    asks the owner's server anew, not only the first (the time a command
    began is its own sync's, never a later check's)."""
    cluster = polled_cluster(make_cluster)
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    # imaplib knows no NOTIFY.
    assert raw_command(bob, "NOTIFY SET (SELECTED (MessageNew MessageExpunge))")[0] == "OK"
    time.sleep(3.5)  # a few checks, before alice's mail
    alice_does(cluster, lambda a: a.append("Team", None, None, b"Subject: notified\r\n\r\nhi\r\n"))
    wait_for(bob, rb"^\* 6 EXISTS")
    bob.logout()
    assert cluster.problems() == {}


def test_a_connection_broken_during_idle_comes_back_at_the_next_sync(cluster):
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    tag = start_idle(bob)
    time.sleep(0.5)
    # alice's backend goes away under the remote IDLE, and comes back.
    backend = cluster.backend_of("alice")
    backend.crash()
    backend.start()
    end_idle(bob, tag)
    alice_does(cluster, lambda a: a.append("Team", None, None, b"Subject: after\r\n\r\nhi\r\n"))
    assert bob.noop()[0] == "OK"
    status, data = bob.fetch("1:*", "(UID)")
    assert status == "OK" and len(data) == 6, data
    bob.logout()
    assert cluster.master_logins("bob", 2) == 2, cluster.proxy.log()
