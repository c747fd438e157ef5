"""Mail a shared folder must never lose or corrupt: a COPY copies exactly
its source messages, a change the user made is never replayed into a
folder the owner created anew (nor sent from an EXAMINE), and several
sessions of one user on one folder keep its local index consistent."""

import random
import re
import threading
import time

import pytest

from support.cluster import seed_team_folder

ALL_RIGHTS = "lookup read write write-seen write-deleted insert expunge"


def subjects(imap, messages="1:*") -> list[str]:
    status, data = imap.fetch(messages, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK", data
    return [part[1].decode().strip().removeprefix("Subject: ") for part in data if isinstance(part, tuple)]


def owners_view(cluster, folder: str) -> list[str]:
    alice = cluster.login("alice")
    status, _ = alice.select(folder, readonly=True)
    assert status == "OK"
    view = subjects(alice) if int(alice.untagged_responses.get("EXISTS", [b"0"])[-1]) else []
    alice.logout()
    return view


@pytest.fixture
def cluster(make_cluster):
    cluster = make_cluster(shared_imapc=True, rawlog=("alice",))
    for folder, subject, count in (("src", "source", 2), ("dst", "dest", 1), ("other", "other", 1)):
        seed_team_folder(cluster, folder=folder, count=count, subject=subject)
        cluster.share("alice", folder, "bob", ALL_RIGHTS)
    return cluster


@pytest.mark.parametrize("verb", ["COPY", "MOVE"])
def test_copy_between_two_folders_of_one_owner_copies_the_source_messages(cluster, verb):
    bob = cluster.login("bob")
    assert bob.select('"shared/alice/src"')[0] == "OK"
    before = len(cluster.remote_commands("alice"))
    status, data = bob._simple_command(verb, "1:2", '"shared/alice/dst"')
    assert status == "OK", data
    # Done by alice's server in one command, nothing downloaded or uploaded.
    sent = cluster.remote_commands("alice")[before:]
    assert [c for c in sent if c.startswith(f"UID {verb} ")] == [f"UID {verb} 1:2 dst"], sent
    assert not [c for c in sent if c.startswith("APPEND") or "BODY.PEEK[]" in c], sent
    # Nor one command per message: MOVE's expunge needs no GUID from alice.
    assert not [c for c in sent if "X-GUID" in c], sent
    assert owners_view(cluster, "dst") == ["dest 1", "source 1", "source 2"]
    expected_left = [] if verb == "MOVE" else ["source 1", "source 2"]
    assert owners_view(cluster, "src") == expected_left
    if verb == "COPY":
        # The source folder still reads its own messages, not the copies'.
        assert subjects(bob) == ["source 1", "source 2"]
        status, data = bob.fetch("2", "(BODY.PEEK[TEXT])")
        assert status == "OK" and data[0][1].strip() == b"Body 2", data
    bob.logout()
    assert cluster.problems() == {}


def test_copy_from_one_owners_folder_keeps_reading_the_right_one(cluster):
    """A folder opened for saving takes the owner's remote selection; the
    source's next FETCH must not read the destination's message 1."""
    bob = cluster.login("bob")
    assert bob.select('"shared/alice/src"')[0] == "OK"
    assert bob.copy("1", '"shared/alice/other"')[0] == "OK"
    status, data = bob.fetch("1:2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])")
    assert status == "OK", data
    parts = [part[1].strip() for part in data if isinstance(part, tuple)]
    assert parts == [b"Subject: source 1", b"Body 1", b"Subject: source 2", b"Body 2"]
    bob.logout()
    assert owners_view(cluster, "other") == ["other 1", "source 1"]


def leave_a_change_pending(cluster, folder: str) -> None:
    """bob flags message 1 of `folder` while alice deletes the folder: the
    change stays in bob's index, not passed on."""
    bob = cluster.login("bob")
    assert bob.select(f'"shared/alice/{folder}"')[0] == "OK"
    alice = cluster.login("alice")
    assert alice.delete(folder)[0] == "OK"
    alice.logout()
    try:
        bob.store("1", "+FLAGS", "(\\Flagged)")
        bob.logout()
    except Exception:  # the session may end: the folder is gone
        pass


def test_a_store_reaches_the_owner_as_one_store_and_the_flags_it_left(cluster):
    """A STORE of flags and a keyword: one UID STORE (Dovecot lists them as
    two changes), whose answer tells what alice's server made of it and is
    as new as a NOOP's: nothing else is sent."""
    bob = cluster.login("bob")
    assert bob.select('"shared/alice/src"')[0] == "OK"
    before = len(cluster.remote_commands("alice"))
    status, data = bob.uid("STORE", "2", "+FLAGS", "(\\Seen $Load)")
    assert status == "OK", data
    assert b"$Load" in data[0] and b"\\Seen" in data[0], data
    sent = sorted(cluster.remote_commands("alice")[before:])
    assert sent == ["UID STORE 2 +FLAGS (\\Seen $Load)"], sent
    bob.logout()
    alice = cluster.login("alice")
    alice.select("src", readonly=True)
    status, data = alice.uid("FETCH", "2", "(FLAGS)")
    assert b"$Load" in data[0] and b"\\Seen" in data[0], data
    alice.logout()


@pytest.mark.parametrize("flag", ["\\Seen", "$Load"])
def test_a_store_of_a_flag_bob_last_saw_set_sets_it_on_the_owners_server(cluster, flag):
    """alice clears a flag bob's session last saw set; bob, not told yet,
    sets it again. On alice's own folder that STORE sets it (two sessions
    of hers, the same race); through the shared folder it must too, not be
    taken for a no-op by bob's index. (alice's second session also reports
    the flag in a FETCH; bob, who never saw it cleared, is told nothing.)"""
    alice = cluster.login("alice")
    assert alice.select("src")[0] == "OK"
    assert alice.uid("STORE", "1", "+FLAGS", f"({flag})")[0] == "OK"
    bob = cluster.login("bob")
    assert bob.select('"shared/alice/src"')[0] == "OK"
    status, data = bob.fetch("1", "(FLAGS)")
    assert flag.encode() in data[0], data
    assert alice.uid("STORE", "1", "-FLAGS", f"({flag})")[0] == "OK"
    assert bob.store("1", "+FLAGS", f"({flag})")[0] == "OK"
    status, data = alice.uid("FETCH", "1", "(FLAGS)")
    assert flag.encode() in data[0], data
    status, data = bob.fetch("1", "(FLAGS)")
    assert flag.encode() in data[0], data
    alice.logout()
    bob.logout()
    assert cluster.problems() == {}


def test_a_replace_of_flags_bob_last_saw_removes_what_the_owner_added_since(cluster):
    """STORE FLAGS replaces: alice added $Load to a message since bob's
    last look; bob's `FLAGS (\\Seen)` (what he saw) must take it off, as
    on alice's own folder."""
    alice = cluster.login("alice")
    assert alice.select("src")[0] == "OK"
    assert alice.uid("STORE", "1", "+FLAGS", "(\\Seen)")[0] == "OK"
    assert alice.uid("STORE", "2", "+FLAGS", "($Load)")[0] == "OK"
    bob = cluster.login("bob")
    assert bob.select('"shared/alice/src"')[0] == "OK"
    assert alice.uid("STORE", "1", "+FLAGS", "($Load)")[0] == "OK"
    assert bob.store("1", "FLAGS", "(\\Seen)")[0] == "OK"
    status, data = alice.uid("FETCH", "1", "(FLAGS)")
    assert re.sub(rb" ?\\Recent", b"", data[0]) == b"1 (UID 1 FLAGS (\\Seen))", data
    alice.logout()
    bob.logout()


def test_marking_all_read_that_bob_saw_read_is_one_store(cluster):
    """A "mark all read" of messages bob's index shows read: it reaches
    alice's server (she may have marked some unread since) as one UID
    STORE of the range, its flags asked for in the same round trip."""
    alice = cluster.login("alice")
    assert alice.select("src")[0] == "OK"
    assert alice.uid("STORE", "1:2", "+FLAGS", "(\\Seen)")[0] == "OK"
    bob = cluster.login("bob")
    assert bob.select('"shared/alice/src"')[0] == "OK"
    assert alice.uid("STORE", "2", "-FLAGS", "(\\Seen)")[0] == "OK"
    before = len(cluster.remote_commands("alice"))
    assert bob.store("1:*", "+FLAGS.SILENT", "(\\Seen)")[0] == "OK"
    sent = cluster.remote_commands("alice")[before:]
    assert [c for c in sent if c.startswith("UID STORE")] == ["UID STORE 1:2 +FLAGS (\\Seen)"], sent
    status, data = alice.uid("FETCH", "1:2", "(FLAGS)")
    assert all(b"\\Seen" in d for d in data), data
    alice.logout()
    bob.logout()


def test_an_append_to_the_selected_folder_asks_only_for_the_new_flags(cluster):
    """An APPEND into the folder bob has selected: the APPEND's answer is
    as new as a NOOP's (the sync runs after Dovecot's clock moved on, but
    the command began before it was sent); only the flags alice's server
    gave the new message are asked for. alice's view has it."""
    bob = cluster.login("bob")
    assert bob.select('"shared/alice/src"')[0] == "OK"
    before = len(cluster.remote_commands("alice"))
    status, data = bob.append('"shared/alice/src"', "(\\Flagged)", None, b"Subject: appended\r\n\r\nnew\r\n")
    assert status == "OK", data
    # (The message's own lines are in the rawlog too, not in capitals.)
    sent = [c.split(" (")[0] for c in cluster.remote_commands("alice")[before:] if c.split(" ")[0].isupper()]
    assert sent == ["APPEND src", "UID FETCH 3:*"], sent
    assert bob.untagged_responses.get("EXISTS", [])[-1:] == [b"3"], bob.untagged_responses
    status, data = bob.fetch("3", "(FLAGS)")
    assert b"\\Flagged" in data[0], data
    bob.logout()
    assert owners_view(cluster, "src") == ["source 1", "source 2", "appended"]


@pytest.mark.parametrize("first_open", ["EXAMINE", "SELECT"])
def test_a_pending_change_never_reaches_a_folder_created_anew(cluster, first_open):
    """The change was made in the folder alice deleted: neither an EXAMINE
    nor a SELECT of the new one sends it. A SELECT drops it with a warning;
    an EXAMINE never sends anything, and the new folder's UIDVALIDITY
    resets the index, the change with it."""
    leave_a_change_pending(cluster, "src")
    seed_team_folder(cluster, folder="src", count=1, subject="new")
    cluster.share("alice", "src", "bob", ALL_RIGHTS)
    before = len(cluster.remote_commands("alice"))

    bob = cluster.login("bob")
    assert bob.select('"shared/alice/src"', readonly=first_open == "EXAMINE")[0] == "OK"
    assert subjects(bob) == ["new 1"]
    assert not [c for c in cluster.remote_commands("alice")[before:] if "STORE" in c]
    assert bob.select('"shared/alice/src"')[0] == "OK"
    assert bob.noop()[0] == "OK"
    bob.logout()
    assert not [c for c in cluster.remote_commands("alice")[before:] if "STORE" in c]
    alice = cluster.login("alice")
    alice.select("src", readonly=True)
    status, data = alice.fetch("1", "(FLAGS)")
    assert b"\\Flagged" not in data[0], data
    alice.logout()
    if first_open == "SELECT":
        cluster.backend_of("bob").wait_for_log("1 of the user's changes dropped")


SESSIONS = 6
SECONDS = 15


def test_several_sessions_of_one_user_keep_the_index_consistent(make_cluster):
    """bob's mail client opens several connections: each of them selects
    the shared folder and changes it while alice adds and removes mail.
    No session may see an inconsistent index, none of Dovecot's logs an
    error, and a session afterwards sees the folder as alice does."""
    cluster = make_cluster(shared_imapc=True)
    seed_team_folder(cluster, count=20)
    cluster.share("alice", "Team", "bob", ALL_RIGHTS)
    failures: list[str] = []
    stop = time.monotonic() + SECONDS

    def viewer(seed: int) -> None:
        rng = random.Random(seed)
        bob = cluster.login("bob")
        try:
            while time.monotonic() < stop:
                status, data = bob.select('"shared/alice/Team"')
                if status != "OK":
                    failures.append(f"SELECT: {data}")
                    return
                for _ in range(5):
                    action = rng.choice(["fetch", "store", "noop", "search", "append", "expunge"])
                    # By UID: another session may expunge any message meanwhile.
                    uids = bob.uid("SEARCH", "ALL")[1][0].split()
                    uid = rng.choice(uids).decode() if uids else "1"
                    if action == "fetch":
                        status, data = bob.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER])")
                    elif action == "store":
                        status, data = bob.uid("STORE", uid, rng.choice(["+FLAGS", "-FLAGS"]), "(\\Seen $Seed)")
                    elif action == "search":
                        status, data = bob.search(None, "UNSEEN")
                    elif action == "append":
                        body = f"Subject: from bob {seed}\r\n\r\nhello\r\n".encode()
                        status, data = bob.append('"shared/alice/Team"', None, None, body)
                    elif action == "expunge" and len(uids) > 10:
                        bob.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
                        status, data = bob.expunge()
                    else:
                        status, data = bob.noop()
                    if action == "fetch" and status == "OK":
                        # Every message has a header: none may read as empty.
                        empty = [part[0] for part in data if isinstance(part, tuple) and not part[1].strip()]
                        if empty:
                            failures.append(f"empty header: {empty}")
                    # Expunged by another session meanwhile, as the owner is told too.
                    if status != "OK" and b"EXPUNGEISSUED" not in data[0]:
                        failures.append(f"{action}: {data}")
            bob.logout()
        except Exception as e:  # a BYE ("session state is inconsistent") ends it
            failures.append(f"session {seed}: {e!r}")

    def owner() -> None:
        alice = cluster.login("alice")
        alice.select("Team")
        n = 0
        while time.monotonic() < stop:
            n += 1
            alice.append("Team", None, None, f"Subject: from alice {n}\r\n\r\nx\r\n".encode())
            alice.store(str(n % 5 + 1), "+FLAGS", "(\\Flagged)")
            time.sleep(0.05)
        alice.logout()

    threads = [threading.Thread(target=viewer, args=(seed,)) for seed in range(SESSIONS)]
    threads.append(threading.Thread(target=owner))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    assert not failures, failures[:10]
    assert cluster.problems() == {}
    assert messages_and_flags(cluster.login("bob"), '"shared/alice/Team"') == messages_and_flags(
        cluster.login("alice"), "Team"
    )


def messages_and_flags(imap, folder: str) -> dict[int, set[str]]:
    """Each message's UID and flags (but \\Recent, the session's own)."""
    status, _ = imap.select(folder, readonly=True)
    assert status == "OK"
    status, data = imap.uid("FETCH", "1:*", "(FLAGS)")
    assert status == "OK", data
    imap.logout()
    view = {}
    for line in data:
        match = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line or b"")
        if match:
            view[int(match[1])] = set(match[2].decode().split()) - {"\\Recent"}
    return view


def owners_uids(cluster, folder: str) -> tuple[int, list[int]]:
    """The folder's UIDVALIDITY and UIDs, as alice's own server says."""
    alice = cluster.login("alice")
    alice.select(folder, readonly=True)
    uidvalidity = int(alice.untagged_responses["UIDVALIDITY"][-1])
    status, data = alice.uid("SEARCH", "ALL")
    alice.logout()
    return uidvalidity, [int(uid) for uid in data[0].split()]


def test_append_copy_and_move_answer_the_owners_uids(cluster):
    """UIDPLUS is advertised: a sync client relies on [APPENDUID] and
    [COPYUID] naming the UIDs the owner's server gave."""
    bob = cluster.login("bob")

    def code(name: str) -> list[bytes]:
        # imaplib files a response code of the tagged or untagged OK by name.
        return bob.untagged_responses.pop(name, [])

    status, _ = bob.append('"shared/alice/dst"', None, None, b"Subject: appended\r\n\r\nx\r\n")
    uidvalidity, uids = owners_uids(cluster, "dst")
    assert status == "OK" and code("APPENDUID") == [f"{uidvalidity} {uids[-1]}".encode()]

    bob.append("INBOX", None, None, b"Subject: from bob's inbox\r\n\r\nx\r\n")
    bob.select("INBOX")
    code("COPYUID")
    status, _ = bob.uid("COPY", "1", '"shared/alice/dst"')
    uidvalidity, uids = owners_uids(cluster, "dst")
    assert status == "OK" and code("COPYUID") == [f"{uidvalidity} 1 {uids[-1]}".encode()]

    bob.select('"shared/alice/src"')
    status, _ = bob.uid("COPY", "1:2", '"shared/alice/dst"')
    uidvalidity, uids = owners_uids(cluster, "dst")
    assert status == "OK" and code("COPYUID") == [f"{uidvalidity} 1:2 {uids[-2]}:{uids[-1]}".encode()]

    status, _ = bob.uid("MOVE", "2", '"shared/alice/other"')
    uidvalidity, uids = owners_uids(cluster, "other")
    assert status == "OK" and code("COPYUID") == [f"{uidvalidity} 2 {uids[-1]}".encode()]
    bob.logout()
