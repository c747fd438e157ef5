"""The shared_imapc storage end to end: alice (backend A) shares a folder
with bob (backend B); bob reads it through the proxy as alice with himself
as master user, so alice's backend applies bob's rights. Carol has no
rights and learns nothing; changes others make show up in bob's session;
a backend that goes away gives a NO, and the folder works again after."""

import imaplib
import re
import socket

import pytest

from support.cluster import seed_team_folder

TEAM = '"shared/alice/Team"'


def make_team_cluster(make_cluster, extra=""):
    cluster = make_cluster(shared_imapc=True, backend_config=extra)
    assert cluster.backend_of("alice") is not cluster.backend_of("bob")
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read")
    return cluster


@pytest.fixture
def cluster(make_cluster):
    return make_team_cluster(make_cluster, "mailbox_idle_check_interval = 1s\n")


def listed(imap, pattern):
    status, lines = imap.list('""', pattern)
    assert status == "OK", lines
    return sorted(line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if line)


def untagged(imap, name):
    return imap.untagged_responses.pop(name, [])


def test_bob_lists_selects_and_fetches_alices_folder(cluster):
    bob = cluster.login("bob")
    assert listed(bob, "shared/*") == ["shared/alice", "shared/alice/Team"]
    status, data = bob.select(TEAM, readonly=True)
    assert status == "OK" and data == [b"5"]
    status, data = bob.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK"
    subjects = [part[1].decode().strip() for part in data if isinstance(part, tuple)]
    assert subjects == [f"Subject: Message {n}" for n in range(1, 6)]
    assert bob.status(TEAM, "(MESSAGES UIDNEXT)") == ("OK", [b"shared/alice/Team (MESSAGES 5 UIDNEXT 6)"])
    bob.logout()


def envelope_subjects(imap):
    status, data = imap.fetch("1:*", "(ENVELOPE)")
    assert status == "OK", data
    return re.findall(rb'ENVELOPE \("[^"]*" "([^"]*)"', b" ".join(data))


def test_a_recreated_folder_is_not_answered_from_the_old_cache(cluster):
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    assert envelope_subjects(bob) == [f"Message {n}".encode() for n in range(1, 6)]
    bob.logout()
    # Same name and UIDs 1-5 again, new UIDVALIDITY, other messages.
    alice = cluster.login("alice")
    assert alice.delete("Team")[0] == "OK"
    alice.logout()
    seed_team_folder(cluster, count=5, subject="Renewed")
    cluster.share("alice", "Team", "bob", "lookup read")
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    assert envelope_subjects(bob) == [f"Renewed {n}".encode() for n in range(1, 6)]
    bob.logout()


@pytest.mark.parametrize("list_index", ["no", "yes"])
def test_a_user_without_rights_learns_nothing(make_cluster, list_index):
    cluster = make_team_cluster(make_cluster, f"mailbox_list_index = {list_index}\n")
    # Bob reads once so that his backend has a local cache of the folder.
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    bob.logout()
    carol = cluster.login("carol")
    assert listed(carol, "shared/*") == []
    assert listed(carol, "shared/alice/*") == []
    for command in (lambda: carol.select(TEAM, readonly=True), lambda: carol.select(TEAM),
                    lambda: carol.status(TEAM, "(MESSAGES UIDNEXT UNSEEN)")):
        status, data = command()
        assert status == "NO"
        assert data == [re.sub(rb" \(.*secs\)\.$", b"", data[0])] or b"doesn't exist" in data[0]
        assert b"Mailbox doesn't exist: shared/alice/Team" in data[0]
    for command in ("GETACL", "MYRIGHTS"):
        status, data = carol._simple_command(command, TEAM)
        assert status == "NO", (command, data)
        assert not untagged(carol, command.replace("GET", ""))
    carol.logout()


def test_changes_by_others_show_up_at_noop(cluster):
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    alice = cluster.login("alice")
    alice.select("Team")
    alice.append("Team", None, None, b"Subject: Message 6\r\n\r\nBody 6\r\n")
    alice.store("2", "+FLAGS", "(\\Flagged)")
    alice.store("1", "+FLAGS", "(\\Deleted)")
    alice.expunge()
    untagged(bob, "EXISTS"), untagged(bob, "EXPUNGE"), untagged(bob, "FETCH")
    assert bob.noop()[0] == "OK"
    assert untagged(bob, "EXPUNGE") == [b"1"]
    assert b"5" in untagged(bob, "EXISTS")
    assert any(b"\\Flagged" in f for f in untagged(bob, "FETCH"))
    status, data = bob.fetch("1:*", "(UID FLAGS)")
    assert [re.sub(rb" ?\\Recent", b"", d) for d in data] == [
        b"1 (UID 2 FLAGS (\\Flagged))", b"2 (UID 3 FLAGS ())", b"3 (UID 4 FLAGS ())",
        b"4 (UID 5 FLAGS ())", b"5 (UID 6 FLAGS ())"]
    alice.logout()
    bob.logout()


def test_a_message_after_several_expunged_at_once_shows_up(cluster):
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    alice = cluster.login("alice")
    alice.select("Team")
    alice.store("1:3", "+FLAGS", "(\\Deleted)")
    alice.expunge()
    assert bob.noop()[0] == "OK"
    alice.append("Team", None, None, b"Subject: after the expunge\r\n\r\nnew\r\n")
    assert bob.noop()[0] == "OK"
    status, data = bob.fetch("1:*", "(UID)")
    assert [d.split(b" ", 1)[1] for d in data] == [b"(UID 4)", b"(UID 5)", b"(UID 6)"]
    alice.logout()
    bob.logout()


def test_an_append_shows_up_during_idle(cluster):
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    tag = bob._new_tag()
    bob.send(tag + b" IDLE\r\n")
    assert bob.readline().startswith(b"+")
    alice = cluster.login("alice")
    alice.append("Team", None, None, b"Subject: during idle\r\n\r\nhi\r\n")
    alice.logout()
    bob.sock.settimeout(15)
    line = bob.readline()
    bob.send(b"DONE\r\n")
    assert line == b"* 6 EXISTS\r\n"
    while not bob.readline().startswith(tag):
        pass
    bob.logout()


def test_a_backend_that_stops_gives_no_and_the_folder_comes_back(make_cluster):
    # FETCH answers a failure as Dovecot's imap_fetch_failure says: BYE by
    # default, a tagged NO with no-after.
    cluster = make_team_cluster(make_cluster, "imap_fetch_failure = no-after\n")
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    backend = cluster.backend_of("alice")
    backend.crash()
    for command in (lambda: bob.search(None, "BODY", "Body"), lambda: bob.fetch("1:*", "(ENVELOPE)"),
                    lambda: bob.status('"shared/alice/Other"', "(MESSAGES)")):
        status, data = command()
        assert status == "NO", data
        assert b"alice" in data[0] and b"127.0.0.1" not in data[0]
    assert b"[UNAVAILABLE]" in bob.search(None, "BODY", "Body")[1][0]
    backend.start()
    assert bob.noop()[0] == "OK"
    status, data = bob.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK" and len([d for d in data if isinstance(d, tuple)]) == 5
    assert bob.search(None, "BODY", "Body")[1] == [b"1 2 3 4 5"]
    bob.logout()
    assert not cluster.backend_of("bob").problems(), cluster.backend_of("bob").problems()


def test_listing_while_a_folder_is_open_and_the_owners_server_is_down(cluster):
    # The acl plugin frees an owner's namespace that its first LIST of the
    # session shows nothing in: never while a folder of it is open.
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    backend = cluster.backend_of("alice")
    backend.crash()
    # Listed from what the session knows, never a NO for the whole LIST.
    assert listed(bob, "shared/*") == ["shared/alice", TEAM.strip('"')]
    backend.start()
    assert bob.noop()[0] == "OK"
    assert bob.fetch("1", "(UID)")[0] == "OK"
    bob.logout()
    assert not cluster.backend_of("bob").problems(), cluster.backend_of("bob").problems()


def test_a_folder_deleted_by_its_owner_while_open_ends_the_session_as_dovecot_does(cluster):
    # Dovecot disconnects a session whose selected folder was deleted
    # under it; the owner's other folders stay reachable in a new one.
    alice = cluster.login("alice")
    alice.create("Other")
    cluster.share("alice", "Other", "bob", "lookup read")
    bob = cluster.login("bob")
    bob.select(TEAM, readonly=True)
    assert alice.delete("Team")[0] == "OK"
    with pytest.raises(imaplib.IMAP4.abort, match="inconsistent"):
        bob.noop()
    bob = cluster.login("bob")
    assert listed(bob, "shared/alice/*") == ["shared/alice/Other"]
    assert bob.select(TEAM, readonly=True)[0] == "NO"
    assert bob.select('"shared/alice/Other"', readonly=True)[0] == "OK"
    bob.logout()
    alice.logout()
    assert not cluster.backend_of("bob").problems(), cluster.backend_of("bob").problems()


def test_an_unreachable_server_gives_no_not_a_hang(make_cluster):
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    unused = port.getsockname()[1]
    port.close()
    cluster = make_team_cluster(make_cluster, f"plugin {{\n  shared_imapc_port = {unused}\n  shared_imapc_connect_timeout = 2s\n}}\n")
    bob = cluster.login("bob")
    status, data = bob.select(TEAM, readonly=True)
    assert status == "NO" and b"[UNAVAILABLE]" in data[0]
    bob.logout()


def flags_of(cluster, owner, folder, seq):
    imap = cluster.login(owner)
    imap.select(folder, readonly=True)
    flags = imap.fetch(str(seq), "FLAGS")[1][0]
    imap.logout()
    return flags


def test_lookup_and_read_rights_do_not_allow_changing_seen(cluster):
    bob = cluster.login("bob")
    status, _ = bob._simple_command("SELECT", TEAM)
    assert status == "OK" and bob.untagged_responses.pop("READ-ONLY", None) is not None
    bob.state = "SELECTED"
    # As Dovecot's acl plugin does, a change without the right is ignored.
    bob.store("1", "+FLAGS", "(\\Seen)")
    bob.noop()
    assert b"\\Seen" not in bob.fetch("1", "FLAGS")[1][0]
    bob.logout()
    assert b"\\Seen" not in flags_of(cluster, "alice", "Team", 1)


def test_write_seen_rights_change_seen_and_nothing_else(cluster):
    cluster.share("alice", "Team", "carol", "lookup read write-seen")
    carol = cluster.login("carol")
    assert carol.select(TEAM)[0] == "OK"
    assert carol.store("1", "+FLAGS", "(\\Seen)")[0] == "OK"
    assert carol.store("2", "+FLAGS", "(\\Flagged)")[0] == "OK"
    # The owner's server set \Seen and dropped \Flagged; carol sees that.
    carol.untagged_responses.pop("FETCH", None)
    assert carol.noop()[0] == "OK"
    assert b"\\Flagged" not in carol.fetch("2", "FLAGS")[1][0]
    assert b"\\Seen" in carol.fetch("1", "FLAGS")[1][0]
    # Reading a message without PEEK sets \Seen on the owner's server too.
    carol.fetch("3", "(BODY[])")
    carol.noop()
    carol.logout()
    assert b"\\Seen" in flags_of(cluster, "alice", "Team", 1)
    assert b"\\Seen" in flags_of(cluster, "alice", "Team", 3)
    assert b"\\Flagged" not in flags_of(cluster, "alice", "Team", 2)


def test_expunge_with_rights_and_without(cluster):
    cluster.share("alice", "Team", "carol", "lookup read write-deleted expunge")
    cluster.share("alice", "Team", "bob", "lookup read write-deleted")
    carol = cluster.login("carol")
    carol.select(TEAM)
    carol.store("1", "+FLAGS", "(\\Deleted)")
    assert carol.expunge()[0] == "OK"
    carol.logout()
    alice = cluster.login("alice")
    assert alice.select("Team", readonly=True) == ("OK", [b"4"])
    alice.logout()
    # bob may flag \Deleted but not expunge: the message stays, for him too.
    bob = cluster.login("bob")
    bob.select(TEAM)
    bob.store("1", "+FLAGS", "(\\Deleted)")
    # Told as Dovecot tells a failed sync: an untagged NO before the OK.
    bob.expunge()
    assert bob.untagged_responses.pop("NO", []) == [b"Permission denied"], bob.untagged_responses
    bob.noop()
    assert bob.select(TEAM)[1] == [b"4"]
    bob.logout()
    alice = cluster.login("alice")
    assert alice.select("Team", readonly=True) == ("OK", [b"4"])
    alice.logout()


@pytest.mark.parametrize("rights", ["lookup read write", "lookup read expunge"])
def test_a_move_without_the_rights_to_expunge_answers_no_and_loses_nothing(cluster, rights):
    # Expunging there takes expunge and (for \Deleted) write-deleted: the
    # copy is made, the message stays, and the MOVE says why, not OK.
    cluster.share("alice", "Team", "bob", rights)
    bob = cluster.login("bob")
    bob.select(TEAM)
    status, data = bob._simple_command("MOVE", "1", "INBOX")
    assert status == "NO" and b"[NOPERM]" in data[0], data
    assert bob.noop()[0] == "OK"
    assert bob.select(TEAM, readonly=True)[1] == [b"5"]
    assert bob.select("INBOX", readonly=True)[1] == [b"1"]
    bob.logout()


def test_one_remote_login_per_owner_per_session(cluster):
    bob = cluster.login("bob")
    for _ in range(2):
        listed(bob, "shared/*")
    bob.status(TEAM, "(MESSAGES)")
    bob.select(TEAM, readonly=True)
    bob.search(None, "BODY", "Body")
    bob.fetch("1:*", "(ENVELOPE)")
    listed(bob, "shared/*")
    bob.logout()
    assert cluster.master_logins("bob", 1) == 1, cluster.proxy.log()


def test_remote_sessions_left_unused_are_logged_out_and_come_back(make_cluster):
    cluster = make_team_cluster(make_cluster, "plugin {\n  shared_imapc_idle_timeout = 2s\n}\n")
    alices = cluster.backend_of("alice")
    bob = cluster.login("bob")
    assert "Team" in " ".join(listed(bob, "shared/*"))
    # bob's session idles: the master session on alice's backend ends
    # (LOGOUT) within the idle timeout and a check interval.
    master_login = cluster.proxy.wait_for_log("(master bob)")
    session = re.search(r"session=<([^>]+)>", master_login).group(1)
    line = alices.wait_for_log(f"<{session}>: Info: Disconnected: Logged out", timeout=6)
    assert line.split(" imap(")[1].startswith("alice)"), line
    assert bob.noop()[0] == "OK"
    # The folder is there still: a new login brings it.
    assert bob.select(TEAM, readonly=True) == ("OK", [b"5"])
    assert cluster.master_logins("bob", 2) == 2, cluster.proxy.log()
    bob.logout()


def test_append_and_copy_need_the_insert_right(cluster):
    message = b"From: bob@example.net\r\nSubject: From bob\r\n\r\nHello alice.\r\n"
    cluster.share("alice", "Team", "carol", "lookup read")
    carol = cluster.login("carol")
    assert carol.append(TEAM, "(\\Flagged)", None, message)[0] == "NO"
    carol.logout()
    # (Rights are read when the remote session starts, as Dovecot's ACL
    # cache does: grant them before bob's first use.)
    cluster.share("alice", "Team", "bob", "lookup read insert write-seen write")
    bob = cluster.login("bob")
    assert bob.append(TEAM, "(\\Flagged $Bob)", '"05-Jul-2025 10:00:00 +0200"', message)[0] == "OK"
    # COPY into the shared folder, and out of it into bob's own.
    bob.select("INBOX")
    bob.append("INBOX", None, None, b"Subject: In bob's INBOX\r\n\r\nx\r\n")
    bob.select("INBOX")
    assert bob.copy("1", TEAM)[0] == "OK"
    bob.select(TEAM)
    assert bob.copy("1", "INBOX")[0] == "OK"
    bob.logout()
    alice = cluster.login("alice")
    alice.select("Team", readonly=True)
    status, data = alice.fetch("6:7", "(FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK"
    data = [d for d in data if isinstance(d, tuple)]
    first = data[0][0]
    # The same instant (the owner's server shows it in its own zone).
    assert b"\\Flagged" in first and b"$Bob" in first and b'"05-Jul-2025 08:00:00 +0000"' in first
    assert b"Subject: From bob" in data[0][1]
    assert b"In bob's INBOX" in data[1][1]
    alice.logout()
    bob = cluster.login("bob")
    assert bob.select("INBOX")[1] == [b"2"]
    assert bob.select(TEAM)[1] == [b"7"]
    bob.logout()


def test_many_owners_are_listed_with_parallel_logins_within_the_process_limits(make_cluster):
    """Thirty owners, thirty logins at once, in an imap process with
    Dovecot's default address-space limit (vsz_limit)."""
    from support.cluster import DEFAULT_USERS, User

    owners = [User(f"owner{i:02d}", f"pw{i}") for i in range(30)]
    cluster = make_cluster(
        shared_imapc=True,
        users=DEFAULT_USERS + owners,
        backend_config="plugin {\n  shared_imapc_max_connections = 30\n}\nservice imap {\n  vsz_limit = 192M\n}\n",
    )
    for owner in owners:
        imap = cluster.login(owner.name)
        imap.create("Shared")
        imap.logout()
        cluster.share(owner.name, "Shared", "bob", "lookup read")
    bob = cluster.login("bob")
    names = listed(bob, "shared/*")
    assert [n for n in names if n.endswith("/Shared")] == [f"shared/{o.name}/Shared" for o in owners]
    bob.logout()
    assert cluster.master_logins("bob", 30) == 30
    assert not cluster.backend_of("bob").problems(), cluster.backend_of("bob").problems()
