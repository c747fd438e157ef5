"""A FETCH that needs only the header of messages bob's backend has not
cached (a mail client building its message list) downloads only their
header from alice's server (`BODY.PEEK[HEADER]`, one command for the set),
never the whole message; what needs the body later fetches the whole
message then, and every answer equals what alice's own server answers."""

import contextlib
import email.message
import imaplib
import re

import pytest

from support.cluster import rich_messages

FOLDER = "Lists"
SHARED = f'"shared/alice/{FOLDER}"'
BIG = 2 << 20


def big_message() -> bytes:
    """A message with a 2 MB attachment."""
    message = email.message.EmailMessage()
    message["From"] = "Big Sender <big@example.org>"
    message["To"] = "alice@example.org"
    message["Subject"] = "the big one"
    message["Date"] = "Mon, 07 Jul 2025 10:00:00 +0000"
    message.set_content("See the attachment.\n")
    message.add_attachment(bytes(range(256)) * (BIG // 256), maintype="application",
                           subtype="octet-stream", filename="big.bin")
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def sessions():
    from support.cluster import Cluster

    cluster = Cluster(shared_imapc=True, rawlog=True, mail_debug=True).start()
    try:
        imap = cluster.login("alice")
        imap.create(FOLDER)
        for n, body in enumerate([*rich_messages(), big_message()], 1):
            imap.append(FOLDER, None, imaplib.Time2Internaldate(1751300000 + n * 86400), body)
        imap.logout()
        cluster.share("alice", FOLDER, "bob", "lookup read")
        alice = cluster.login("alice")
        alice.select(FOLDER, readonly=True)
        bob = cluster.login("bob")
        assert bob.select(SHARED, readonly=True)[0] == "OK"
        yield cluster, alice, bob
        bob.logout()
        alice.logout()
    finally:
        cluster.remove()


class Remote:
    """What alice's backend received and sent in her sessions from here on."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.commands_before = len(cluster.remote_commands("alice"))
        self.sent_before = self.sent_bytes()

    def sent_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.cluster.home("alice") / "rawlog").glob("*.out"))

    def fetches(self) -> list[str]:
        commands = self.cluster.remote_commands("alice")[self.commands_before:]
        return [c for c in commands if c.startswith("UID FETCH")]

    def sent(self) -> int:
        return self.sent_bytes() - self.sent_before


@contextlib.contextmanager
def new_bob(cluster):
    """A session of bob's with nothing in its memory: what it knows of the
    messages is in the index's cache file."""
    bob = cluster.login("bob")
    try:
        assert bob.select(SHARED, readonly=True)[0] == "OK"
        yield bob
    finally:
        bob.logout()


def fetch_equals_alices(alice, bob, sequence: str, item: str) -> None:
    mine, theirs = alice.fetch(sequence, item), bob.fetch(sequence, item)
    assert theirs[0] == "OK", theirs
    assert theirs[1] == mine[1]


def whole_messages(fetches: list[str]) -> list[str]:
    return [c for c in fetches if "BODY.PEEK[]" in c]


def test_header_fields_fetch_only_the_header(sessions):
    cluster, alice, bob = sessions
    remote = Remote(cluster)
    fetch_equals_alices(alice, bob, "1:*", "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]")
    fetches = remote.fetches()
    assert len(fetches) == 1, fetches
    assert "BODY.PEEK[HEADER]" in fetches[0]
    assert whole_messages(fetches) == []
    # The big message's attachment stayed on alice's backend.
    assert remote.sent() < BIG // 4, remote.sent()
    # Dovecot cached the fields it parsed: a new session asks nothing.
    with new_bob(cluster) as again:
        remote = Remote(cluster)
        fetch_equals_alices(alice, again, "1:*", "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]")
        assert remote.fetches() == []


def test_whole_header_fetches_only_the_header_once(sessions):
    """A header read once is kept in the index's cache file: the user's
    other sessions (other processes, as a mail client's connections) read
    it from there, as they do the fields Dovecot parsed."""
    cluster, alice, _ = sessions
    with new_bob(cluster) as bob:
        remote = Remote(cluster)
        fetch_equals_alices(alice, bob, "1:*", "BODY.PEEK[HEADER]")
        fetches = remote.fetches()
        # None when the test above has read them already.
        assert len(fetches) <= 1, fetches
        assert all("BODY.PEEK[HEADER]" in f for f in fetches), fetches
        assert whole_messages(fetches) == []
        assert remote.sent() < BIG // 4, remote.sent()
    with new_bob(cluster) as again:
        remote = Remote(cluster)
        fetch_equals_alices(alice, again, "1:*", "BODY.PEEK[HEADER]")
        fetch_equals_alices(alice, again, "1:*", "BODY.PEEK[HEADER.FIELDS (DATE TO)]")
        assert remote.fetches() == []


@pytest.mark.parametrize("structure", ["BODYSTRUCTURE", "BODY", "ENVELOPE"])
def test_a_message_list_with_the_structure_fetches_no_message(sessions, structure):
    """ENVELOPE, BODY and BODYSTRUCTURE come from alice's server: asked with
    header fields (a mail client's message list), they are not a reason
    to download the messages."""
    cluster, alice, _ = sessions
    with new_bob(cluster) as bob:
        remote = Remote(cluster)
        fields = f"BODY.PEEK[HEADER.FIELDS (REPLY-TO X-LIST-{structure})]"
        fetch_equals_alices(alice, bob, "1:*", f"({structure} {fields})")
        fetches = remote.fetches()
        # None when an earlier session had them cached already.
        assert len(fetches) <= 1 and whole_messages(fetches) == [], fetches
        assert remote.sent() < BIG // 4, remote.sent()


@pytest.mark.parametrize(
    "item",
    [
        "RFC822.SIZE",
        "BODY.PEEK[TEXT]",
        "BODY.PEEK[]",
        "(RFC822.SIZE BODY.PEEK[HEADER] BODY.PEEK[1])",
        "BINARY.SIZE[1]",
        "BODYSTRUCTURE",
    ],
)
def test_the_body_after_the_header_equals_alices(sessions, item):
    cluster, alice, _ = sessions
    with new_bob(cluster) as bob:
        # A field no earlier session had Dovecot cache: the header comes
        # alone (from the cache file, where an earlier session left it).
        remote = Remote(cluster)
        fetch_equals_alices(alice, bob, "1:*", f"BODY.PEEK[HEADER.FIELDS (TO X-{re.sub('[^A-Z0-9]', '', item)})]")
        assert whole_messages(remote.fetches()) == [] and len(remote.fetches()) <= 1
        remote = Remote(cluster)
        fetch_equals_alices(alice, bob, "1:*", item)
        assert len(remote.fetches()) <= 1, remote.fetches()


def test_header_and_text_in_one_fetch(sessions):
    """A header in the folder's memory (fetched alone) never answers for
    the message's text."""
    cluster, alice, _ = sessions
    with new_bob(cluster) as bob:
        fetch_equals_alices(alice, bob, "1:*", "BODY.PEEK[HEADER.FIELDS (CC)]")
        fetch_equals_alices(alice, bob, "1:*", "(BODY.PEEK[HEADER] BODY.PEEK[TEXT])")


def test_a_copy_after_the_header_holds_the_whole_message(sessions):
    """A COPY into bob's own folder streams each message whole, though
    the folder's memory holds only their headers."""
    cluster, alice, _ = sessions
    with new_bob(cluster) as bob:
        bob.create("Copies")
        fetch_equals_alices(alice, bob, "1:*", "BODY.PEEK[HEADER.FIELDS (REFERENCES)]")
        assert bob.copy("1:*", "Copies")[0] == "OK"
        bob.select("Copies", readonly=True)
        for item in ["RFC822.SIZE", "BODY.PEEK[]"]:
            fetch_equals_alices(alice, bob, "1:*", item)


@pytest.mark.parametrize("item", ["BODY.PEEK[TEXT]", "BODY.PEEK[]", "RFC822.SIZE"])
def test_a_message_above_a_megabyte_reads_as_alices(sessions, item):
    """The core keeps such a message in a temporary file."""
    _, alice, bob = sessions
    fetch_equals_alices(alice, bob, "1:*", item)
