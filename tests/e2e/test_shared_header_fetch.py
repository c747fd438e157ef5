"""Reading messages of alice's folder, big ones among them, through
bob's shared_imapc: every answer equals what alice's own server answers."""

import email.message
import imaplib

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


def fetch_equals_alices(alice, bob, sequence: str, item: str) -> None:
    mine, theirs = alice.fetch(sequence, item), bob.fetch(sequence, item)
    assert theirs[0] == "OK", theirs
    assert theirs[1] == mine[1]


@pytest.mark.parametrize("item", ["BODY.PEEK[TEXT]", "BODY.PEEK[]", "RFC822.SIZE"])
def test_a_message_above_a_megabyte_reads_as_alices(sessions, item):
    """The core keeps such a message in a temporary file."""
    _, alice, bob = sessions
    fetch_equals_alices(alice, bob, "1:*", item)
