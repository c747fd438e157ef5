"""A real sync client on shared folders: mbsync (Debian's isync) keeps a
local Maildir of `shared/alice/*` in step with alice's folders, both ways.
It trusts UIDPLUS, UIDs and flags as a server states them, so it finds what
our own imaplib tests take for granted: earlier, without [APPENDUID], it
fell back to searching its X-TUID header, its second run failed
("extraneous data in FETCH response") and its deletions reached alice only
on a third run. Every run is checked against alice's own view of her
folders (UIDs, flags, message text)."""

import email.parser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support.cluster import seed_team_folder

ALL_RIGHTS = "lookup read write write-seen write-deleted insert expunge"
FOLDERS = ("Team", "Projects")
# Maildir flag letters and the IMAP system flags they stand for (mbsync
# 1.4 passes on no keywords).
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
SYSTEM_FLAGS = set(MAILDIR_FLAGS.values())
# mbsync warns about any plain-text login; the cluster is on loopback.
CLEAR_TEXT_WARNING = "*** IMAP Warning *** Password is being sent in the clear"

# One message as each side has it: (subject, system flags, text with LF
# line ends and without mbsync's X-TUID tracking header).
Message = tuple[str, frozenset[str], bytes]


def normalized(text: bytes) -> bytes:
    """A message's text as both sides can compare it: the Maildir keeps LF
    line ends, and mbsync adds an X-TUID header to what it uploads."""
    lines = text.replace(b"\r\n", b"\n").split(b"\n")
    return b"\n".join(line for line in lines if not line.startswith(b"X-TUID: "))


def subject_of(text: bytes) -> str:
    return str(email.parser.BytesHeaderParser().parsebytes(text)["Subject"])


def owners_view(cluster, folder: str) -> dict[int, Message]:
    """alice's folder as her own server shows her: UID -> message."""
    alice = cluster.login("alice")
    status, _ = alice.select(folder, readonly=True)
    assert status == "OK"
    view = {}
    if int(alice.untagged_responses.get("EXISTS", [b"0"])[-1]):
        status, data = alice.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
        assert status == "OK", data
        for part in data:
            if not isinstance(part, tuple):
                continue
            uid = int(re.search(rb"UID (\d+)", part[0])[1])
            flags = set(re.search(rb"FLAGS \(([^)]*)\)", part[0])[1].decode().split())
            view[uid] = (subject_of(part[1]), frozenset(flags & SYSTEM_FLAGS), normalized(part[1]))
    alice.logout()
    return view


class Maildir:
    """The local side: `root/shared/alice/<folder>` Maildirs with mbsync's
    state file (`SyncState *`) in each, which maps alice's UIDs (far) to
    the Maildir's own (`,U=<n>` in the file names)."""

    def __init__(self, root: Path):
        self.root = root

    def folder(self, name: str) -> Path:
        return self.root / "shared" / "alice" / name

    def files(self, name: str) -> list[Path]:
        return sorted(p for sub in ("cur", "new") for p in (self.folder(name) / sub).iterdir())

    def far_uids(self, name: str) -> dict[int, int]:
        """Near UID -> far UID, from the state file's message lines."""
        pairs = {}
        for line in (self.folder(name) / ".mbsyncstate").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
                pairs[int(fields[1])] = int(fields[0])
        return pairs

    def view(self, name: str) -> dict[int, Message]:
        """The folder as alice's: far UID -> message."""
        far = self.far_uids(name)
        view = {}
        for path in self.files(name):
            near_uid = int(re.search(r",U=(\d+)", path.name)[1])
            letters = path.name.rpartition(":2,")[2]
            flags = frozenset(MAILDIR_FLAGS[c] for c in letters if c in MAILDIR_FLAGS)
            text = path.read_bytes()
            assert near_uid in far, f"{path.name} is not in the sync state"
            view[far[near_uid]] = (subject_of(text), flags, normalized(text))
        return view

    def path_of(self, name: str, far_uid: int) -> Path:
        near_uid = next(near for near, far in self.far_uids(name).items() if far == far_uid)
        return next(p for p in self.files(name) if re.search(rf",U={near_uid}(:|,|$)", p.name))

    def set_flags(self, name: str, far_uid: int, add: str = "", remove: str = "") -> None:
        """Changes a message's flags as a mail client on the Maildir does:
        renames it into cur/ with the new flag letters."""
        path = self.path_of(name, far_uid)
        base, _, letters = path.name.partition(":2,")
        letters = "".join(sorted((set(letters) | set(add)) - set(remove)))
        path.rename(self.folder(name) / "cur" / f"{base}:2,{letters}")

    def deliver(self, name: str, text: bytes) -> None:
        """A new message in the Maildir, as a mail client saves one."""
        path = self.folder(name) / "tmp" / "1700000000.upload.local"
        path.write_bytes(text)
        path.rename(self.folder(name) / "new" / path.name)

    def snapshot(self) -> list[tuple[str, bytes]]:
        """Every file of the Maildirs, names and contents (the state files too)."""
        return sorted((str(p.relative_to(self.root)), p.read_bytes()) for p in self.root.rglob("*") if p.is_file())


class Mbsync:
    """mbsync with a configuration in the test's directory: bob through the
    cluster's proxy, `shared/alice/*` against a local Maildir."""

    def __init__(self, cluster, directory: Path):
        self.directory = directory
        self.maildir = Maildir(directory / "mail")
        self.maildir.root.mkdir(parents=True)
        self.config = directory / "mbsyncrc"
        self.config.write_text(f"""\
IMAPAccount bob
Host 127.0.0.1
Port {cluster.proxy.port}
User bob
Pass {cluster.password("bob")}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bob

MaildirStore local
Path {self.maildir.root}/
Inbox {self.maildir.root}/INBOX
SubFolders Verbatim

Channel shared
Far :remote:
Near :local:
Patterns "shared/alice/*"
Sync All
Create Near
Expunge Both
SyncState *
""")

    def run(self) -> str:
        """One sync (-V, and the IMAP traffic without message text: -Dn);
        its output, after checking it went cleanly."""
        result = subprocess.run(
            [self.binary(), "-V", "-Dn", "-c", str(self.config), "shared"],
            capture_output=True, text=True, timeout=120, env={"HOME": str(self.directory), "PATH": "/usr/bin:/bin"},
        )
        trace = f"mbsync exit code {result.returncode}\n--- stderr:\n{result.stderr}\n--- stdout:\n{result.stdout}"
        assert result.returncode == 0, trace
        complaints = [line for line in result.stderr.splitlines() if line.strip() and line != CLEAR_TEXT_WARNING]
        assert not complaints, trace
        # With [APPENDUID] it never looks for its uploads by their X-TUID header.
        assert not [line for line in result.stdout.splitlines() if line.startswith(">>> ") and "X-TUID" in line], trace
        return result.stdout

    @staticmethod
    def binary() -> str:
        path = shutil.which("mbsync", path="/usr/bin:/bin")
        if path is None:
            pytest.fail("mbsync is missing: install Debian's isync (scripts/install-deps test does)")
        return path


def assert_in_step(cluster, mbsync: Mbsync) -> dict[str, dict[int, Message]]:
    """Each folder's Maildir holds exactly alice's messages, by her UIDs,
    with her flags and text. Returns her view."""
    views = {}
    for folder in FOLDERS:
        views[folder] = owners_view(cluster, folder)
        assert mbsync.maildir.view(folder) == views[folder], folder
    return views


def changed(cluster, before: int) -> list[str]:
    """Commands that change alice's folders, since `before` of her backend's."""
    verbs = ("APPEND", "STORE", "EXPUNGE", "MOVE", "COPY", "UID STORE", "UID EXPUNGE", "UID MOVE", "UID COPY")
    return [c for c in cluster.remote_commands("alice")[before:] if c.upper().startswith(verbs)]


@pytest.fixture
def cluster(make_cluster):
    cluster = make_cluster(shared_imapc=True, rawlog=("alice",))
    seed_team_folder(cluster, folder="Team", count=20)
    seed_team_folder(cluster, folder="Projects", count=3, subject="Project")
    for folder in FOLDERS:
        cluster.share("alice", folder, "bob", ALL_RIGHTS)
    alice = cluster.login("alice")
    alice.select("Team")
    alice.store("1:5", "+FLAGS", "(\\Seen)")
    alice.store("3", "+FLAGS", "(\\Flagged)")
    alice.store("4", "+FLAGS", "(\\Answered)")
    alice.logout()
    return cluster


def test_mbsync_keeps_a_maildir_of_shared_folders_in_step_both_ways(cluster, tmp_path):
    mbsync = Mbsync(cluster, tmp_path)

    # The first run copies alice's folders as they are.
    mbsync.run()
    start = assert_in_step(cluster, mbsync)
    assert sorted(start["Team"]) == list(range(1, 21))
    assert {uid for uid, (_, flags, _) in start["Team"].items() if "\\Seen" in flags} == {1, 2, 3, 4, 5}

    # bob works on the Maildir: flags, deletions, a new message.
    mbsync.maildir.set_flags("Team", 6, add="F")
    mbsync.maildir.set_flags("Team", 7, add="S")
    mbsync.maildir.set_flags("Team", 1, remove="S")
    mbsync.maildir.set_flags("Team", 8, add="T")
    mbsync.maildir.set_flags("Team", 9, add="ST")
    mbsync.maildir.set_flags("Projects", 2, add="RS")
    upload = b"From: bob@example.net\nTo: team@example.net\nSubject: Written in bob's Maildir\n\nUpload body\n"
    mbsync.maildir.deliver("Team", upload)
    # alice works on her folders meanwhile: new mail, flags, an expunge.
    alice = cluster.login("alice")
    alice.select("Team")
    for n in (1, 2):
        alice.append("Team", None, None, f"Subject: alice new {n}\r\n\r\nnew {n}\r\n".encode())
    alice.uid("STORE", "10", "+FLAGS", "(\\Flagged)")
    alice.uid("STORE", "2", "-FLAGS", "(\\Seen)")
    alice.uid("STORE", "11", "+FLAGS", "(\\Answered)")
    alice.uid("STORE", "12", "+FLAGS", "(\\Deleted)")
    alice.expunge()
    alice.logout()

    mbsync.run()
    now = assert_in_step(cluster, mbsync)
    team = now["Team"]
    uploaded = [uid for uid, (subject, _, _) in team.items() if subject == "Written in bob's Maildir"]
    assert len(uploaded) == 1 and uploaded[0] > 22, sorted(team)
    assert team[uploaded[0]][2] == normalized(upload)
    assert sorted(team) == [*range(1, 8), 10, 11, *range(13, 23), uploaded[0]]
    assert team[21][0] == "alice new 1" and team[22][0] == "alice new 2"

    def flags(uid: int, folder: str = "Team") -> set[str]:
        return set(now[folder][uid][1])

    assert flags(6) == {"\\Flagged"} and flags(7) == {"\\Seen"} and flags(1) == set()
    assert flags(10) == {"\\Flagged"} and flags(2) == set() and flags(11) == {"\\Answered"}
    assert flags(3) == {"\\Seen", "\\Flagged"} and flags(4) == {"\\Seen", "\\Answered"}
    assert flags(2, "Projects") == {"\\Answered", "\\Seen"}
    assert sorted(now["Projects"]) == [1, 2, 3]

    # Another run finds nothing left to do, on either side.
    maildir_before, commands_before = mbsync.maildir.snapshot(), len(cluster.remote_commands("alice"))
    mbsync.run()
    assert changed(cluster, commands_before) == []
    assert mbsync.maildir.snapshot() == maildir_before
    assert assert_in_step(cluster, mbsync) == now
    assert cluster.problems() == {}
