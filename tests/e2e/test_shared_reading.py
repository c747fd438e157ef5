"""What bob reads in alice's shared folder equals what alice reads herself:
FETCH of every item, SEARCH of every key, SORT by every criterion; and each
of them costs a bounded number of commands on alice's backend (counted
from her backend's raw log), not one per message."""

import re

import pytest

from support.cluster import seed_rich_folder

FOLDER = "Rich"
SHARED = f'"shared/alice/{FOLDER}"'

FETCH_ITEMS = [
    "FLAGS",
    "UID",
    "INTERNALDATE",
    "RFC822.SIZE",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY",
    "BODY.PEEK[]",
    "BODY.PEEK[HEADER]",
    "BODY.PEEK[TEXT]",
    "BODY.PEEK[1]",
    "BODY.PEEK[1.MIME]",
    "BODY.PEEK[2]",
    "BODY.PEEK[]<10.50>",
    "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]",
    "BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)]",
    "RFC822.HEADER",
    "BINARY.PEEK[1]",
    "BINARY.SIZE[1]",
    "(ENVELOPE INTERNALDATE RFC822.SIZE FLAGS)",
    "X-GUID",
]

SEARCH_KEYS = [
    "ALL",
    "ANSWERED",
    "UNANSWERED",
    "FLAGGED",
    "UNFLAGGED",
    "SEEN",
    "UNSEEN",
    "DELETED",
    "UNDELETED",
    "DRAFT",
    "UNDRAFT",
    "KEYWORD $Work",
    "UNKEYWORD $Work",
    "SUBJECT report",
    "SUBJECT caf\u00e9",
    "FROM s3@example.net",
    "TO team",
    "CC cc1@example.org",
    "BCC nobody",
    "BODY budget",
    "BODY tr\u00e8s",
    "TEXT html",
    "TEXT word5",
    'HEADER Message-ID "<r2@example.net>"',
    "HEADER In-Reply-To r1",
    "LARGER 10000",
    "SMALLER 700",
    "BEFORE 4-Jul-2025",
    "ON 5-Jul-2025",
    "SINCE 6-Jul-2025",
    "SENTBEFORE 4-Jul-2025",
    "SENTON 5-Jul-2025",
    "SENTSINCE 6-Jul-2025",
    "UID 2:4",
    "2:5",
    "NOT SUBJECT report",
    "OR SUBJECT zebra FLAGGED",
    "OR (SUBJECT zebra) (BODY budget)",
    "SEEN SUBJECT report",
    "UNSEEN NOT LARGER 1000",
    "YOUNGER 3153600000",
    "OLDER 60",
]

SORT_CRITERIA = [
    "(DATE)",
    "(ARRIVAL)",
    "(SUBJECT)",
    "(REVERSE SIZE)",
    "(FROM)",
    "(TO)",
    "(CC)",
    "(DISPLAYFROM)",
    "(REVERSE DATE SUBJECT)",
]


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    from support.cluster import Cluster

    cluster = Cluster(shared_imapc=True, rawlog=True, mail_debug=True).start()
    try:
        seed_rich_folder(cluster, folder=FOLDER)
        cluster.share("alice", FOLDER, "bob", "lookup read")
        alice = cluster.login("alice")
        alice.select(FOLDER, readonly=True)
        bob = cluster.login("bob")
        status, _ = bob.select(SHARED, readonly=True)
        assert status == "OK"
        yield cluster, alice, bob
        bob.logout()
        alice.logout()
    finally:
        cluster.remove()


def without_recent(data):
    """\\Recent belongs to the session that saw a message first."""
    return [
        tuple(re.sub(rb" ?\\Recent", b"", p) for p in part) if isinstance(part, tuple) else re.sub(rb" ?\\Recent", b"", part)
        for part in data
    ]


def new_remote_commands(cluster, before):
    return cluster.remote_commands("alice")[before:]


@pytest.mark.parametrize("item", FETCH_ITEMS)
def test_fetch_equals_the_owners(sessions, item):
    cluster, alice, bob = sessions
    mine = alice.fetch("1:*", item)
    before = len(cluster.remote_commands("alice"))
    theirs = bob.fetch("1:*", item)
    assert theirs[0] == "OK"
    assert without_recent(theirs[1]) == without_recent(mine[1])
    fetches = [c for c in new_remote_commands(cluster, before) if c.startswith("UID FETCH")]
    # At most one command (X-GUID: the first time, one message first, to
    # learn whether the remote knows it), whatever the folder's size.
    assert len(fetches) <= (2 if item == "X-GUID" else 1), fetches


def test_a_second_fetch_is_answered_locally(sessions):
    cluster, _, bob = sessions
    bob.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
    before = len(cluster.remote_commands("alice"))
    bob.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
    assert [c for c in new_remote_commands(cluster, before) if "FETCH" in c] == []


CACHED_ITEMS = "(ENVELOPE BODYSTRUCTURE BODY INTERNALDATE RFC822.SIZE X-GUID)"


def test_the_next_session_reads_fetched_data_from_the_local_index(sessions):
    cluster, alice, bob = sessions
    bob.fetch("1:*", CACHED_ITEMS)
    later = cluster.login("bob")
    try:
        assert later.select(SHARED, readonly=True)[0] == "OK"
        before = len(cluster.remote_commands("alice"))
        theirs = later.fetch("1:*", CACHED_ITEMS)
        assert [c for c in new_remote_commands(cluster, before) if "FETCH" in c] == []
    finally:
        later.logout()
    assert without_recent(theirs[1]) == without_recent(alice.fetch("1:*", CACHED_ITEMS)[1])


def test_a_next_session_fetches_only_what_the_cache_lacks(sessions):
    cluster, alice, bob = sessions
    bob.fetch("1:*", "(ENVELOPE)")
    later = cluster.login("bob")
    try:
        assert later.select(SHARED, readonly=True)[0] == "OK"
        before = len(cluster.remote_commands("alice"))
        theirs = later.fetch("1:*", "(ENVELOPE BODY.PEEK[])")
        fetches = [c for c in new_remote_commands(cluster, before) if "FETCH" in c]
    finally:
        later.logout()
    # One command for the messages (and their sizes), none per message.
    assert len(fetches) == 1 and "ENVELOPE" not in fetches[0], fetches
    assert without_recent(theirs[1]) == without_recent(alice.fetch("1:*", "(ENVELOPE BODY.PEEK[])")[1])


@pytest.mark.parametrize("key", SEARCH_KEYS)
def test_search_equals_the_owners(sessions, key):
    cluster, alice, bob = sessions
    def search(imap):
        if key.isascii():
            return imap.uid("SEARCH", key)
        # 8-bit strings go as a literal (imaplib sends it last).
        name, value = key.split(" ", 1)
        imap.literal = value.encode()
        return imap.uid("SEARCH", "CHARSET", "UTF-8", name)

    mine = search(alice)
    before = len(cluster.remote_commands("alice"))
    theirs = search(bob)
    assert theirs == mine
    searches = [c for c in new_remote_commands(cluster, before) if "SEARCH" in c]
    assert len(searches) <= 1, searches


def test_content_search_is_one_remote_command(sessions):
    cluster, _, bob = sessions
    before = len(cluster.remote_commands("alice"))
    assert bob.search(None, "BODY", "budget")[0] == "OK"
    assert [c for c in new_remote_commands(cluster, before) if "SEARCH" in c] == ["UID SEARCH RETURN (ALL) BODY \"budget\""]


def test_flag_keys_go_along_with_a_content_search(sessions):
    """The remote then reads the bodies of the unseen messages only."""
    cluster, alice, bob = sessions
    before = len(cluster.remote_commands("alice"))
    theirs = bob.search(None, "UNSEEN", "BODY", "budget")
    sent = [c for c in new_remote_commands(cluster, before) if "SEARCH" in c]
    assert theirs == alice.search(None, "UNSEEN", "BODY", "budget")
    assert sent == ["UID SEARCH RETURN (ALL) NOT SEEN BODY \"budget\""]


def test_flag_search_needs_no_remote_command(sessions):
    cluster, _, bob = sessions
    before = len(cluster.remote_commands("alice"))
    assert bob.search(None, "UNSEEN")[0] == "OK"
    assert [c for c in new_remote_commands(cluster, before) if "SEARCH" in c] == []


@pytest.mark.parametrize("criteria", SORT_CRITERIA)
def test_sort_equals_the_owners(sessions, criteria):
    cluster, alice, bob = sessions
    mine = alice.uid("SORT", criteria, "UTF-8", "ALL")
    before = len(cluster.remote_commands("alice"))
    theirs = bob.uid("SORT", criteria, "UTF-8", "ALL")
    assert theirs == mine
    assert [c.split(" ", 2)[:2] for c in new_remote_commands(cluster, before) if "SORT" in c] == [["UID", "SORT"]]


def test_sort_with_a_search_key(sessions):
    _, alice, bob = sessions
    assert bob.sort("(SUBJECT)", "UTF-8", "UNSEEN", "LARGER", "500") == alice.sort("(SUBJECT)", "UTF-8", "UNSEEN", "LARGER", "500")


@pytest.mark.parametrize("algorithm", ["REFERENCES", "ORDEREDSUBJECT"])
@pytest.mark.parametrize("uid", [True, False])
def test_thread_equals_the_owners_in_one_remote_command(sessions, algorithm, uid):
    cluster, alice, bob = sessions

    def thread(imap):
        if uid:
            return imap.uid("THREAD", algorithm, "UTF-8", "ALL")
        return imap.thread(algorithm, "UTF-8", "ALL")

    mine = thread(alice)
    before = len(cluster.remote_commands("alice"))
    theirs = thread(bob)
    assert theirs == mine and mine[1] != [b""]
    threads = [c for c in new_remote_commands(cluster, before) if "THREAD" in c]
    assert threads == [f"UID THREAD {algorithm} UTF-8 ALL"]


def test_thread_with_search_keys(sessions):
    _, alice, bob = sessions
    assert bob.thread("REFERENCES", "UTF-8", "SUBJECT", "report") == alice.thread("REFERENCES", "UTF-8", "SUBJECT", "report")


def test_rights_are_what_the_owners_server_says(sessions):
    cluster, _, bob = sessions
    import imaplib

    imaplib.Commands.setdefault("LISTRIGHTS", ("AUTH", "SELECTED"))
    direct = imaplib.IMAP4("127.0.0.1", cluster.proxy.port)
    direct.login("alice*bob", cluster.master_password)
    for command in ("MYRIGHTS", "GETACL"):
        expected = direct._simple_command(command, FOLDER)
        expected_data = direct.untagged_responses.pop(command.replace("GET", ""), None)
        got = bob._simple_command(command, SHARED)
        got_data = bob.untagged_responses.pop(command.replace("GET", ""), None)
        assert got[0] == expected[0], (command, got, expected)
        if expected_data:
            assert got_data == [d.replace(FOLDER.encode(), b"shared/alice/" + FOLDER.encode(), 1) for d in expected_data]
    assert bob._simple_command("LISTRIGHTS", SHARED, "carol")[0] == direct._simple_command("LISTRIGHTS", FOLDER, "carol")[0]
    direct.logout()


def test_modseq_search_agrees_with_the_modseqs_the_user_sees(sessions):
    """CONDSTORE clients get the local index's modseqs (FETCH MODSEQ,
    HIGHESTMODSEQ), so MODSEQ searches are answered from them too."""
    _, _, bob = sessions
    status, data = bob.fetch("1:*", "(UID MODSEQ)")
    assert status == "OK"
    modseqs = {int(m.group(1)): int(m.group(2)) for m in
               (re.search(rb"UID (\d+) MODSEQ \((\d+)\)", d) for d in data) if m}
    threshold = sorted(modseqs.values())[len(modseqs) // 2]
    expected = sorted(uid for uid, m in modseqs.items() if m >= threshold)
    status, data = bob.uid("SEARCH", "MODSEQ", str(threshold))
    assert status == "OK"
    found = sorted(int(n) for n in re.sub(rb"\(MODSEQ \d+\)", b"", data[0]).split())
    assert found == expected


# RFC 7162's MODSEQ key with an entry name (a string) and an entry type.
MODSEQ_ENTRY_SEARCHES = [
    'RETURN (MIN) MODSEQ "/flags/\\\\seen" all 1',
    'MODSEQ "/flags/\\\\seen" all 1',
    'MODSEQ "/flags/$Work" priv 1',
    'OR BODY budget MODSEQ "/flags/\\\\flagged" shared 1',
]


def esearch(imap, key):
    """`UID SEARCH key`: the status and the answer, without the tag and
    the modseqs (the client sees the local index's, see above)."""
    status, _ = imap._simple_command("UID", "SEARCH", key)
    data = imap.untagged_responses.pop("ESEARCH", []) + imap.untagged_responses.pop("SEARCH", [])
    return status, [re.sub(rb'\(TAG "[^"]*"\) | ?\(?MODSEQ \d+\)?', b"", d) for d in data]


@pytest.mark.parametrize("key", MODSEQ_ENTRY_SEARCHES)
def test_modseq_search_with_an_entry_answers_as_the_owners(sessions, key):
    _, alice, bob = sessions
    mine = esearch(alice, key)
    assert mine[0] == "OK" and mine[1] not in ([], [b""]), mine
    assert esearch(bob, key) == mine
