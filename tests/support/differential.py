"""The differential harness: the owner's own folder is the oracle.

Alice's account holds two identical pairs of folders: `o-main`/`o-other`,
which alice reads directly, and `s-main`/`s-other`, which bob reads as
`shared/alice/s-…` through shared_imapc (with all rights). The same command
sequence runs on both sides, raw, line by line; the answers must be equal
once what legitimately differs is normalized: the folder names (the
namespace prefix), the numbers that belong to one folder and not the other
(UIDVALIDITY, modseqs), `\\Recent` (each server's own), the order of
keywords in a flag list (a set, each index has its own order) and the timing text
in tagged answers. Between steps the owner changes both folders alike.
"""

from __future__ import annotations

import random
import re
import socket
from dataclasses import dataclass, field

from support.cluster import Cluster

ALL_RIGHTS = "lookup read write write-seen write-deleted insert expunge"
FOLDERS = ("main", "other")
KEYWORDS = ("$Work", "$Later", "Todo")
# Every APPEND says when: both sides' messages then have one INTERNALDATE.
DATE = '"01-Jun-2025 10:00:00 +0000"'
FETCH_ITEMS = (
    "FLAGS",
    "UID",
    "RFC822.SIZE",
    "INTERNALDATE",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY.PEEK[HEADER]",
    "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]",
    "BODY.PEEK[HEADER.FIELDS (DATE TO MESSAGE-ID)]",
    "BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)]",
    "RFC822.HEADER",
    "BODY.PEEK[TEXT]",
    "BODY.PEEK[1]",
    "BODY.PEEK[]<0.20>",
    "BINARY.SIZE[1]",
)
SEARCH_KEYS = (
    "ALL",
    "SEEN",
    "UNSEEN",
    "FLAGGED",
    "DELETED",
    "KEYWORD $Work",
    "UNKEYWORD Todo",
    'SUBJECT "message 3"',
    'FROM "alice"',
    'BODY "body"',
    "LARGER 100",
    "SMALLER 400",
    "SINCE 1-Jan-2020",
    "OR SEEN FLAGGED",
    "NOT SEEN",
    "1:3",
    "UID 2:*",
    "HEADER Message-ID m2",
)


def message(n: int, tag: str = "") -> bytes:
    """A small message; `tag` marks where it came from (owner, viewer)."""
    return (
        f"From: alice@example.net\r\nTo: team@example.net\r\nSubject: Message {n}{tag}\r\n"
        f"Date: Mon, {n % 28 + 1:02d} Jun 2025 10:00:00 +0000\r\nMessage-ID: <m{n}{tag}@example.net>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"Body {n} of the message{tag}.\r\n"
    ).encode()


class RawImap:
    """An IMAP session whose answers are kept as the server sent them."""

    def __init__(self, port: int, user: str, password: str):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buffer = b""
        self.tags = 0
        self._line()  # greeting
        lines = self.run(f'LOGIN "{user}" "{password}"')
        assert b" OK " in lines[-1], lines

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _response(self) -> bytes:
        """One response, literals inline."""
        line = self._line()
        whole = line
        while (match := re.search(rb"\{(\d+)\}$", line)) is not None:
            whole += b"\r\n" + self._read(int(match[1]))
            line = self._line()
            whole += line
        return whole

    def run(self, command: str, literal: bytes | None = None) -> list[bytes]:
        """Sends one command (with one LITERAL+ argument at its end) and
        returns every response up to its tagged one."""
        self.tags += 1
        tag = f"d{self.tags}".encode()
        data = tag + b" " + command.encode()
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(data + b"\r\n")
        lines = []
        while True:
            response = self._response()
            lines.append(response)
            if response.startswith(tag + b" "):
                return lines

    def close(self) -> None:
        try:
            self.run("LOGOUT")
        except (OSError, ConnectionError):
            pass
        self.sock.close()


def normalize(lines: list[bytes], prefix: str) -> list[str]:
    """What must be equal on both sides (see the module's docstring)."""
    out = []
    for raw in lines:
        text = raw.decode(errors="replace")
        text = re.sub(rf'"?{re.escape(prefix)}(main|other)"?', r"X-\1", text)
        text = re.sub(r"\\Recent ?", "", text).replace(" )", ")")
        # A flag list is a set: each index keeps keywords in its own order.
        text = re.sub(r"FLAGS \(([^)]*)\)", lambda m: "FLAGS (" + " ".join(sorted(m[1].split())) + ")", text)
        text = re.sub(r"\[(UIDVALIDITY|HIGHESTMODSEQ) \d+\]", r"[\1 n]", text)
        text = re.sub(r"\[(APPENDUID|COPYUID) \d+", r"[\1 n", text)
        text = re.sub(r"MODSEQ \(\d+\)", "MODSEQ (n)", text)
        text = re.sub(r" \(\d+\.\d+ \+ \d+\.\d+( \+ \d+\.\d+)? secs\)", "", text)
        if re.fullmatch(r"\* \d+ RECENT", text) or text.startswith("* OK [HIGHESTMODSEQ"):
            continue
        out.append(text)
    return out


@dataclass
class Side:
    """One side of the comparison: who reads, and under which names."""

    imap: RawImap
    prefix: str
    transcript: list[str] = field(default_factory=list)

    def run(self, command: str, literal: bytes | None = None) -> list[str]:
        command = command.replace("{folder}", f'"{self.prefix}main"').replace("{other}", f'"{self.prefix}other"')
        answer = normalize(self.imap.run(command, literal), self.prefix)
        self.transcript.append(f"C: {command}")
        self.transcript.extend(f"S: {line}" for line in answer)
        return answer


class Differential:
    """Alice's folders and bob's view of their twins, driven alike."""

    def __init__(self, cluster: Cluster, messages: int = 6):
        self.cluster = cluster
        owner = cluster.login("alice")
        for name in FOLDERS:
            for prefix in ("o-", "s-"):
                owner.create(prefix + name)
        self.appended = 0
        self.owner = owner
        for _ in range(messages):
            self.owner_appends()
        for name in FOLDERS:
            cluster.share("alice", "s-" + name, "bob", ALL_RIGHTS)
        port = cluster.proxy.port
        self.direct = Side(RawImap(port, "alice", cluster.password("alice")), "o-")
        self.shared = Side(RawImap(port, "bob", cluster.password("bob")), "shared/alice/s-")

    def owner_appends(self, folder: str = "main") -> None:
        """The owner adds the same message to both twins."""
        self.appended += 1
        for prefix in ("o-", "s-"):
            status, data = self.owner.append(
                prefix + folder, None, '"01-Jun-2025 10:00:00 +0000"', message(self.appended, " (owner)")
            )
            assert status == "OK", data

    def owner_flags(self, uid: int, change: str) -> None:
        """The owner changes one message's flags in both twins."""
        for prefix in ("o-", "s-"):
            self.owner.select(prefix + "main")
            self.owner.uid("STORE", str(uid), change)
        self.owner.unselect()

    def step(self, command: str, literal: bytes | None = None) -> None:
        """Runs `command` on both sides; their answers must be equal."""
        expected = self.direct.run(command, literal)
        got = self.shared.run(command, literal)
        if expected != got:
            raise AssertionError(
                f"answers differ for {command!r}\n  owner: {expected}\n  shared: {got}\n"
                + "transcript (shared side):\n"
                + "\n".join(self.shared.transcript[-40:])
            )

    def close(self) -> None:
        self.direct.imap.close()
        self.shared.imap.close()
        self.owner.logout()


def random_step(diff: Differential, rng: random.Random) -> None:
    """One random command of a mail client, or the owner's change (after
    which both sides ask for news with NOOP, at the same point)."""
    seq = f"{rng.randint(1, 4)}:{rng.choice(['*', str(rng.randint(2, 8))])}"
    items = " ".join(rng.sample(FETCH_ITEMS, rng.randint(1, 4)))
    flags = " ".join(rng.sample(("\\Seen", "\\Flagged", "\\Answered", "\\Deleted", *KEYWORDS), rng.randint(1, 2)))
    kind = rng.choice(
        ["fetch"] * 4 + ["uid fetch", "store", "uid store", "search", "uid search", "sort", "thread"] * 2
        + ["select", "examine", "copy", "move", "append", "multiappend", "expunge", "uid expunge", "noop"]
        + ["owner append", "owner flags"]
    )
    if kind == "fetch":
        diff.step(f"FETCH {seq} ({items})")
    elif kind == "uid fetch":
        diff.step(f"UID FETCH {seq} (UID {items})")
    elif kind == "store":
        diff.step(f"STORE {seq} {rng.choice(['+', '-', ''])}FLAGS ({flags})")
    elif kind == "uid store":
        diff.step(f"UID STORE {seq} {rng.choice(['+', '-'])}FLAGS.SILENT ({flags})")
    elif kind == "search":
        diff.step(f"SEARCH {rng.choice(SEARCH_KEYS)}")
    elif kind == "uid search":
        diff.step(f"UID SEARCH RETURN (MIN MAX COUNT) {rng.choice(SEARCH_KEYS)}")
    elif kind == "sort":
        diff.step(f"SORT ({rng.choice(['SUBJECT', 'REVERSE DATE', 'SIZE', 'FROM'])}) UTF-8 {rng.choice(SEARCH_KEYS)}")
    elif kind == "thread":
        # Not by sequence numbers: Dovecot 2.3.19's own THREAD panics on a
        # set above the folder's count (view_lookup_uid), the owner's too.
        keys = [key for key in SEARCH_KEYS if not key[0].isdigit()]
        diff.step(f"THREAD {rng.choice(['REFERENCES', 'ORDEREDSUBJECT'])} UTF-8 {rng.choice(keys)}")
    elif kind == "select":
        diff.step("SELECT {folder}")
    elif kind == "examine":
        diff.step("EXAMINE {folder}")
        diff.step("FETCH 1:* (FLAGS)")
        diff.step("SELECT {folder}")
    elif kind in ("copy", "move"):
        diff.step(f"{'UID ' if rng.random() < 0.5 else ''}{kind.upper()} {seq} {{other}}")
    elif kind == "append":
        diff.appended += 1
        flags = flags.replace(chr(92) + "Deleted", "")
        diff.step(f"APPEND {{folder}} ({flags}) {DATE}", message(diff.appended, " (viewer)"))
        diff.step("NOOP")
    elif kind == "multiappend":
        # Two messages in one APPEND (RFC 3502): the first as a literal in
        # the command, the second as the command's last literal.
        diff.appended += 2
        first = message(diff.appended - 1, " (viewer)")
        command = "APPEND {folder} " + DATE + " {" + str(len(first)) + "+}\r\n" + first.decode() + " " + DATE
        diff.step(command, message(diff.appended, " (viewer)"))
        diff.step("NOOP")
    elif kind == "expunge":
        diff.step("EXPUNGE")
    elif kind == "uid expunge":
        diff.step(f"UID EXPUNGE {seq}")
    elif kind == "owner append":
        diff.owner_appends()
        diff.step("NOOP")
    elif kind == "owner flags":
        uid = rng.randint(1, diff.appended)
        diff.owner_flags(uid, f"{rng.choice(['+', '-'])}FLAGS ({flags})")
        diff.step("NOOP")
    else:
        diff.step("NOOP")
