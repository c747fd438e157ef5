"""`make bench-storage`: shared_imapc against Dovecot's built-in imapc and
against the owner reading directly through the proxy (the limit), on the
same cluster and folder in one run. Prints medians (ms) and the commands
the owner's backend received per operation (from its rawlog, in one more
run: the times are taken without it).

    python3 benches/storage.py [--messages 10000] [--runs 5] [--owners 50] [--only TEXT]
                               [--load-sessions 6] [--load-seconds 10] [--load-owner-sessions 2]
                               [--load-runs 3]

The built-in imapc runs on Dovecot instances of its own: for the folder
operations bob has alice's account as imapc storage (imapc_user = alice,
imapc_master_user = bob, the features its documentation advises), the
same remote folder through the same proxy; for LIST of many owners bob
has the wiki's shared namespace on imapc (imapc_shared_node).

The IDLE row times the owner's APPEND to the `* n EXISTS` a session
idling in the folder hears, on each path (the owner direct: alice idling
in her own folder).

The load row runs last (its STOREs and APPENDs change the folder): N
concurrent sessions of one user per path, each selecting the folder and
mixing FETCH, UID STORE, UID SEARCH, NOOP and a few APPENDs for T seconds,
as a mail client's several connections do, while the owner's own sessions
change the folder (flags, new mail, expunges, about 20 changes a second
each). It prints the user's commands/s, the protocol errors all sessions
got and the error lines Dovecot logged meanwhile: under load, errors
matter more than speed.
"""

import argparse
import collections
import contextlib
import imaplib
import itertools
import os
import random
import re
import shutil
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.cluster import MASTER_PASSWORD, Cluster, Dovecot, User  # noqa: E402

FOLDER = "Big"
IDLE_ROW = "IDLE: owner's APPEND to the viewer's EXISTS"
IMAPC_FEATURES = "search fetch-headers fetch-bodystructure rfc822.size modseq delay-login acl"
# shared_imapc_max_connections' default: how many owners it logs in to at once.
PARALLEL_LOGINS = 8
WORDS = ["budget", "report", "meeting", "invoice", "travel", "launch", "review", "lunch"]


def message(n: int) -> bytes:
    word = WORDS[n % len(WORDS)]
    parent = f"In-Reply-To: <m{n - 1}@example.net>\r\nReferences: <m{n - 1}@example.net>\r\n" if n % 5 else ""
    return (
        f"From: Sender {n % 97} <s{n % 97}@example.net>\r\nTo: team@example.net\r\n"
        f"Subject: {'Re: ' if n % 5 else ''}{word} {n // 5}\r\n"
        f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(1700000000 + (n * 7919) % 5000000))}\r\n"
        f"Message-ID: <m{n}@example.net>\r\n{parent}\r\n"
        f"Line one of message {n} about the {word}.\r\n" + "Filler text for the body.\r\n" * (n % 20)
    ).encode()


def write_folder(cluster: Cluster, owner: str, folder: str, count: int) -> None:
    """Writes the messages into a Maildir (faster than APPEND) and imports
    it into the owner's mdbox. Not Maildir itself: a Dovecot process that
    opens a Maildir folder again within seconds re-reads its whole
    dovecot-uidlist (400 ms at 10,000 messages here, on every path alike),
    which would hide what the reopen rows compare."""
    uid, gid = cluster._mail_ids()
    home = cluster.home(owner)
    maildir = home / "import-Maildir"
    box = maildir / f".{folder}"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        flags = "S" if n % 3 == 0 else ""
        path = box / "cur" / f"{1700000000 + n}.M{n}P1.bench:2,{flags}"
        path.write_bytes(message(n))
        os.utime(path, (1700000000 + n, 1700000000 + n))
    for path in [maildir, *maildir.rglob("*")]:
        os.chown(path, uid, gid)
    cluster.backend_of(owner).doveadm("import", "-u", owner, f"maildir:{maildir}", "", "mailbox", folder)
    shutil.rmtree(maildir)


def node_users(cluster: Cluster, node: Dovecot, names: list[str], extra=lambda name: "") -> str:
    """Gives the users (password `<name>-pw`) homes on `node`; returns its
    passdb and userdb configuration."""
    uid, gid = cluster._mail_ids()
    lines = []
    for name in names:
        home = node.dir / "home" / name
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, uid, gid)
        lines.append(f"{name}:{{PLAIN}}{name}-pw:{uid}:{gid}::{home}::{extra(name)}\n")
    users = node.dir / "users"
    users.write_text("".join(lines))
    return f"""
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
"""


def imapc_node(cluster: Cluster) -> Dovecot:
    """A Dovecot whose bob reads alice's account through the built-in imapc."""
    node = Dovecot(cluster.root, "imapcnode")
    node.config = node_users(cluster, node, ["bob"]) + f"""
mail_location = imapc:~/imapc
imapc_host = 127.0.0.1
imapc_port = {cluster.proxy.port}
imapc_user = alice
imapc_master_user = bob
imapc_password = {cluster.master_password}
imapc_features = {IMAPC_FEATURES}
"""
    return node.start()


def imapc_shared_node(cluster: Cluster, owners: list[User]) -> Dovecot:
    """A Dovecot whose bob has the wiki's shared namespace on the built-in
    imapc (LIST shared/* of many owners), with the changes it needs here:
    the master user from bob's userdb (imapc_master_user = %u would expand
    to the owner), acl_ignore_namespace, no mailbox list index, and a
    shared dictionary naming the owners (Dovecot's own file driver)."""
    node = Dovecot(cluster.root, "imapcshared")
    auth = node_users(cluster, node, ["bob"] + [o.name for o in owners],
                      lambda name: "userdb_imapc_master_user=bob" if name == "bob" else "")
    uid, gid = cluster._mail_ids()
    shared_dict = node.dir / "shared-dict"
    shared_dict.write_text("".join(f"shared/shared-boxes/user/bob/{o.name}\n1\n" for o in owners))
    os.chown(shared_dict, uid, gid)
    node.config = auth + f"""
mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins acl
mailbox_list_index = no
namespace inbox {{
  inbox = yes
  separator = /
}}
namespace shared {{
  type = shared
  separator = /
  prefix = shared/%%u/
  location = imapc:~/shared/%%u
  subscriptions = no
  list = children
}}
imapc_host = 127.0.0.1
imapc_port = {cluster.proxy.port}
imapc_password = {cluster.master_password}
imapc_features = {IMAPC_FEATURES}
plugin {{
  acl = vfile
  acl_shared_dict = file:{shared_dict}
  acl_ignore_namespace = shared/*
}}
"""
    return node.start()


class Reader:
    """One way of reading alice's folder: how to log in, and its name."""

    def __init__(self, name, connect, folder, cache_dir=None):
        self.name = name
        self.connect = connect
        self.folder = folder
        self.cache_dir = cache_dir

    def clear_cache(self):
        if self.cache_dir is not None:
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    def session(self, warm=True):
        if not warm:
            self.clear_cache()
        imap = self.connect()
        return imap


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def check(result):
    status = result[0]
    if status != "OK":
        raise RuntimeError(f"command failed: {result}")
    return result


@contextlib.contextmanager
def rawlog_off(cluster):
    """alice's rawlog off meanwhile: writing it slows her server, which is
    on our path and the built-in imapc's more than on the owner's."""
    rawlog = cluster.home("alice") / "rawlog"
    hidden = rawlog.with_name("rawlog.off")
    rawlog.rename(hidden)  # Dovecot skips the rawlog of a missing directory
    try:
        yield
    finally:
        hidden.rename(rawlog)


def measure(cluster, reader, operation, runs):
    """Median ms over `runs` with alice's rawlog off, and the remote
    commands of one more run with it on."""
    with rawlog_off(cluster):
        times = [operation(reader)[0] for _ in range(runs)]
    _, commands = operation(reader)
    return statistics.median(times), commands


def remote_commands(cluster, fn):
    """Runs `fn`: its ms and the commands alice's backend received meanwhile."""
    before = len(cluster.remote_commands("alice"))
    ms, _ = timed(fn)
    return ms, cluster.remote_commands("alice")[before:]


def new_session(reader):
    """A new session, as logged in: the remote paths log in at its first
    command that needs the folder."""
    return reader.connect()


def logged_in(reader):
    """A new session that has asked for the folder's STATUS, as clients do
    before they open it: on the remote paths its login is done."""
    imap = reader.connect()
    check(imap.status(reader.folder, "(MESSAGES)"))
    return imap


def op_first_select(connect):
    def run(reader, cluster):
        reader.clear_cache()
        imap = connect(reader)
        measured = remote_commands(cluster, lambda: (check(imap.select(reader.folder, readonly=True)),
                                                     check(imap.fetch("1:*", "(FLAGS)"))))
        imap.logout()
        return measured
    return run


def op_fetch(items, messages="1:*"):
    """FETCH in a new session with nothing cached."""
    run_command = op_command(lambda imap: imap.fetch(messages, items))

    def run(reader, cluster):
        reader.clear_cache()
        return run_command(reader, cluster)
    return run


def op_fetch_next_session(items):
    """FETCH in a new session after an earlier one fetched the same."""
    run_command = op_command(lambda imap: imap.fetch("1:*", items))

    def run(reader, cluster):
        run_command(reader, cluster)
        return run_command(reader, cluster)
    return run


def op_command(fn):
    def run(reader, cluster):
        imap = reader.connect()
        check(imap.select(reader.folder, readonly=True))
        measured = remote_commands(cluster, lambda: check(fn(imap)))
        imap.logout()
        return measured
    return run


_flag_change = itertools.cycle(["+FLAGS", "-FLAGS"])
_alice_at_work = {}


def ten_changes_by_alice(cluster):
    """alice flags or unflags messages 1-10, from a session of hers that
    stays logged in, as her mail client's would: a session that logged out
    just before would still be closing on her backend (writing her index)
    while the reopen is timed."""
    alice = _alice_at_work.get(cluster)
    if alice is None:
        alice = _alice_at_work[cluster] = cluster.login("alice")
        check(alice.select(FOLDER))
    check(alice.store("1:10", next(_flag_change), "(\\Flagged)"))


def op_reopen_after_changes(connect):
    """SELECT in a new session after an earlier one had the folder open."""
    def run(reader, cluster):
        imap = reader.connect()
        check(imap.select(reader.folder, readonly=True))
        imap.logout()
        ten_changes_by_alice(cluster)
        imap = connect(reader)
        measured = remote_commands(cluster, lambda: check(imap.select(reader.folder, readonly=True)))
        imap.logout()
        return measured
    return run


def op_reopen_same_session(reader, cluster):
    """SELECT again after UNSELECT, in a session still logged in."""
    imap = reader.connect()
    check(imap.select(reader.folder, readonly=True))
    check(imap.unselect())
    ten_changes_by_alice(cluster)
    measured = remote_commands(cluster, lambda: check(imap.select(reader.folder, readonly=True)))
    imap.logout()
    return measured


OPERATIONS = [
    ("first SELECT + FETCH 1:* (FLAGS)", op_first_select(new_session)),
    ("first SELECT + FETCH 1:* (FLAGS), after STATUS", op_first_select(logged_in)),
    ("FETCH 1:* (ENVELOPE)", op_fetch("(ENVELOPE)")),
    ("FETCH 1:* (BODYSTRUCTURE)", op_fetch("(BODYSTRUCTURE)")),
    ("FETCH 1:* (INTERNALDATE RFC822.SIZE)", op_fetch("(INTERNALDATE RFC822.SIZE)")),
    ("FETCH 1:100 BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)] cold cache",
     op_fetch("(BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])", "1:100")),
    ("FETCH 1:* (ENVELOPE), next session", op_fetch_next_session("(ENVELOPE)")),
    ("FETCH 1:* (BODYSTRUCTURE), next session", op_fetch_next_session("(BODYSTRUCTURE)")),
    ("reopen after 10 changes, new session", op_reopen_after_changes(new_session)),
    ("reopen after 10 changes, new session, after STATUS", op_reopen_after_changes(logged_in)),
    ("reopen after 10 changes, same session", op_reopen_same_session),
    ("SEARCH SUBJECT launch", op_command(lambda i: i.search(None, "SUBJECT", "launch"))),
    ("SEARCH BODY travel", op_command(lambda i: i.search(None, "BODY", "travel"))),
    ("SEARCH UNSEEN BODY travel", op_command(lambda i: i.search(None, "UNSEEN", "BODY", "travel"))),
    ("SORT (DATE)", op_command(lambda i: i.sort("(DATE)", "UTF-8", "ALL"))),
    ("SORT (SUBJECT)", op_command(lambda i: i.sort("(SUBJECT)", "UTF-8", "ALL"))),
    ("THREAD REFERENCES", op_command(lambda i: i.thread("REFERENCES", "UTF-8", "ALL"))),
]


def read_until(imap, done) -> bytes:
    """Reads lines until one for which `done` is true (60 s at most)."""
    imap.sock.settimeout(60)
    while not done(line := imap.readline()):
        if not line:
            raise RuntimeError("connection closed")
    imap.sock.settimeout(None)
    return line


def idle_latency(reader, alice, runs):
    """Median ms from the start of alice's APPEND (her session stays logged
    in) to the `* n EXISTS` the reader's IDLE in the folder hears."""
    imap = reader.connect()
    check(imap.select(reader.folder, readonly=True))
    times = []
    for n in range(runs):
        tag = imap._new_tag()
        imap.send(tag + b" IDLE\r\n")
        read_until(imap, lambda line: line.startswith(b"+"))
        # The remote paths start their IDLE on the owner's server after
        # the sync that IDLE begins with.
        time.sleep(0.5)
        start = time.perf_counter()
        check(alice.append(FOLDER, None, None, message(n)))
        read_until(imap, lambda line: line.endswith(b" EXISTS\r\n"))
        times.append((time.perf_counter() - start) * 1000)
        imap.send(b"DONE\r\n")
        read_until(imap, lambda line: line.startswith(tag))
    imap.logout()
    return statistics.median(times)


def list_many_owners(connect, runs, before_each=lambda: None):
    """LIST "" "shared/*" in a new session of bob's, `owners` owners sharing
    a folder with him: median ms and the owners' folders listed."""
    times = []
    for _ in range(runs):
        before_each()
        bob = connect()
        ms, result = timed(lambda: check(bob.list('""', "shared/*")))
        bob.logout()
        times.append(ms)
    listed = len([line for line in result[1] if line and b"/Shared" in line])
    return statistics.median(times), listed


def drop_list_cache(path):
    """Removes bob's listing cache, once the session before has written it:
    it does when it ends, after its LOGOUT was answered (a removal before
    that would leave the next session a cached listing)."""
    deadline = time.monotonic() + 2
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    path.unlink(missing_ok=True)


def plain_logins_and_lists(cluster, owners, runs, at_a_time):
    """The floor for a cold LIST of many owners: a plain client (imaplib,
    `at_a_time` threads) logs in to every owner through the proxy as bob
    the master user and lists its folders. Median ms."""
    def list_one(owner):
        imap = imaplib.IMAP4("127.0.0.1", cluster.proxy.port)
        imap.authenticate("PLAIN", lambda _: f"{owner.name}\0bob\0{MASTER_PASSWORD}".encode())
        check(imap.list('""', "*"))
        imap.logout()

    def all_owners():
        with ThreadPoolExecutor(at_a_time) as pool:
            list(pool.map(list_one, owners))
    return statistics.median(timed(all_owners)[0] for _ in range(runs))


def imap_processes_of(instance):
    """The pids of the imap processes that `instance`'s master runs."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            title = (stat.parent / "cmdline").read_bytes().split(b"\0")[0]
        except (OSError, ValueError, IndexError):
            continue
        if parent == instance.pid and title.endswith(b"/imap"):
            pids.append(int(stat.parent.name))
    return pids


def private_memory_kb(pid):
    """The memory only this process has: its private dirty pages."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        return next(int(line.split()[1]) for line in rollup if line.startswith("Private_Dirty:"))


def session_cost(plugins, runs, sessions=20):
    """What every IMAP session on a backend pays for the plugins loaded,
    whether it opens a shared folder or not: ms per login + LIST + LOGOUT
    through the proxy (median of `runs` rounds of `sessions` logins), and
    the private memory of its imap process (median of 5 sessions open at
    once, each having listed its folders)."""
    users = [User(f"user{i:02d}", f"pw{i}") for i in range(sessions)]
    cluster = Cluster(users=users, homes={u.name: 0 for u in users}, plugins=plugins).start()
    try:
        def one(user):
            imap = imaplib.IMAP4("127.0.0.1", cluster.proxy.port)
            imap.login(user.name, user.password)
            check(imap.list('""', "*"))
            imap.logout()

        def all_users():
            for user in users:
                one(user)
        all_users()  # the first logins start Dovecot's auth and config processes
        ms = statistics.median(timed(all_users)[0] / sessions for _ in range(runs))
        open_sessions = [cluster.login(user.name) for user in users[:5]]
        for imap in open_sessions:
            check(imap.list('""', "*"))
        kb = statistics.median(private_memory_kb(pid) for pid in imap_processes_of(cluster.backends[0]))
        for imap in open_sessions:
            imap.logout()
        return ms, kb
    finally:
        cluster.remove()


def connections_per_session(cluster, owners):
    """Remote logins one session of bob makes: LIST shared/* with every
    owner (nothing cached), then reading alice's folder (SELECT, FETCH,
    SEARCH, SORT)."""
    drop_list_cache(cluster.home("bob") / ".shared_imapc.lists")
    before = cluster.proxy.log().count("(master bob)")
    bob = cluster.login("bob")
    check(bob.list('""', "shared/*"))
    check(bob.select(f'"shared/alice/{FOLDER}"', readonly=True))
    check(bob.fetch("1:100", "(ENVELOPE)"))
    check(bob.search(None, "BODY", "travel"))
    check(bob.sort("(DATE)", "UTF-8", "ALL"))
    check(bob.list('""', "shared/*"))
    bob.logout()
    time.sleep(0.5)  # the proxy logs after the client is answered
    return cluster.proxy.log().count("(master bob)") - before


@dataclass
class LoadResult:
    """What the sessions of one path did under load."""

    commands: int = 0
    seconds: float = 0.0
    protocol_errors: int = 0
    log_errors: int = 0
    # The machine's busy CPU seconds meanwhile (every process: the
    # sessions' imap processes, the proxies, the remote sessions).
    cpu_seconds: float = 0.0
    samples: list[str] = field(default_factory=list)
    # Per action of the mix: how many ran and their total ms, to show where
    # one path spends its time.
    actions: dict[str, list[float]] = field(default_factory=dict)

    def ran(self, action: str, ms: float) -> None:
        count_and_ms = self.actions.setdefault(action, [0, 0.0])
        count_and_ms[0] += 1
        count_and_ms[1] += ms

    def mean_ms(self, action: str) -> str:
        count, ms = self.actions.get(action, (0, 0.0))
        return f"{ms / count:.1f}" if count else "-"

    def error(self, text: str) -> None:
        self.protocol_errors += 1
        if len(self.samples) < 3:
            self.samples.append(text[:160])


# All rights: the load changes flags and appends.
LOAD_RIGHTS = "lookup read write write-seen write-deleted insert expunge"
# The load's mix of commands, by weight: what a mail client's connections
# do with an open folder (read a few headers and flags, change flags, ask
# the server to search, poll), and now and then a new message.
LOAD_MIX = [("fetch", 35), ("store", 25), ("search", 15), ("noop", 20), ("append", 5)]


def load_session(reader: Reader, deadline: float, seed: int, result: LoadResult, lock: threading.Lock) -> None:
    """One session until `deadline`: selects the folder, then runs the mix
    by UID. A NO, a BAD, an untagged NO/BAD or BYE and any exception is a
    protocol error; after a broken connection it logs in and selects again."""
    rng = random.Random(seed)
    actions, weights = zip(*LOAD_MIX)
    commands, imap, uids = 0, None, []

    def error(text: str) -> None:
        with lock:
            result.error(text)

    while time.monotonic() < deadline:
        try:
            if imap is None:
                imap = reader.connect()
                status, data = imap.select(reader.folder)
                commands += 1
                if status != "OK":
                    error(f"SELECT: {data}")
                    imap = None
                    continue
                status, data = imap.uid("SEARCH", "ALL")
                commands += 1
                uids = data[0].split() if status == "OK" and data[0] else [b"1"]
            action = rng.choices(actions, weights)[0]
            started = time.perf_counter()
            if action == "fetch":
                some = b",".join(rng.sample(uids, min(4, len(uids)))).decode()
                status, data = imap.uid("FETCH", some, "(FLAGS BODY.PEEK[HEADER])")
            elif action == "store":
                status, data = imap.uid("STORE", rng.choice(uids).decode(), rng.choice(["+FLAGS", "-FLAGS"]),
                                        rng.choice(["(\\Flagged)", "(\\Seen $Load)"]))
            elif action == "search":
                status, data = imap.uid("SEARCH", *rng.choice([["FLAGGED"], ["UNSEEN", "SUBJECT", "launch"],
                                                               ["KEYWORD", "$Load"]]))
            elif action == "append":
                body = f"Subject: load {seed}\r\nFrom: load@example.net\r\n\r\nunder load\r\n".encode()
                status, data = imap.append(reader.folder, None, None, body)
            else:
                status, data = imap.noop()
            commands += 1
            with lock:
                result.ran(action, (time.perf_counter() - started) * 1000)
            if status != "OK":
                error(f"{action}: {status} {data}")
            for kind in ("NO", "BAD"):
                for line in imap.untagged_responses.pop(kind, []):
                    error(f"{action}: untagged {kind} {line}")
        except (imaplib.IMAP4.error, OSError) as e:  # BAD, BYE (abort), a broken connection
            commands += 1
            error(f"{type(e).__name__}: {e}")
            try:
                if imap is not None:
                    imap.shutdown()
            except OSError:
                pass
            imap = None
    if imap is not None:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError) as e:
            error(f"LOGOUT: {e}")
    with lock:
        result.commands += commands


def owner_session(owner: Reader, deadline: float, seed: int, result: LoadResult, lock: threading.Lock) -> None:
    """The owner changing the folder on her own until `deadline`: flags on
    any message, new mail, and expunges of the mail it added; a change about
    every 50 ms. Its errors count with the user's; its commands do not."""
    rng = random.Random(1000 + seed)
    imap, added = owner.connect(), []
    try:
        check(imap.select(owner.folder))
        while time.monotonic() < deadline:
            time.sleep(0.05)
            action = rng.choice(["store", "store", "append", "expunge"])
            if action == "append":
                body = f"Subject: owner {seed}\r\nFrom: alice@example.net\r\n\r\nnew\r\n".encode()
                status, data = imap.append(owner.folder, None, None, body)
                code = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
                if code:
                    added.append(code[1].decode())
            elif action == "expunge" and added:
                uid = added.pop(rng.randrange(len(added)))
                status, data = imap.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
                if status == "OK":
                    status, data = imap.uid("EXPUNGE", uid)
            else:
                uid = str(rng.randint(1, 50))
                status, data = imap.uid("STORE", uid, rng.choice(["+FLAGS", "-FLAGS"]), "(\\Answered $Owner)")
            if status != "OK":
                with lock:
                    result.error(f"owner {action}: {status} {data}")
        imap.logout()
    except (imaplib.IMAP4.error, OSError, RuntimeError) as e:
        with lock:
            result.error(f"owner: {type(e).__name__}: {e}")


# The remote paths' tags: shared_imapc's `s12`, the built-in imapc's `12`
# (imaplib's, the owner's own sessions, are `ABCD12`; message lines of an
# APPEND have none).
REMOTE_TAG = re.compile(r"s?\d+$")


def master_session_commands(cluster) -> collections.Counter:
    """The commands alice's backend has received so far from the remote
    paths' sessions on her account, by name (`UID FETCH`, `NOOP`)."""
    names = collections.Counter()
    for path in (cluster.home("alice") / "rawlog").glob("*.in"):
        for line in path.read_bytes().split(b"\n"):
            words = line.rstrip(b"\r").decode(errors="replace").split(" ", 4)  # "<timestamp> <tag> <name> …"
            if len(words) < 3 or not REMOTE_TAG.match(words[1]):
                continue
            name = words[2].upper()
            if name == "UID" and len(words) > 3:
                name += " " + words[3].upper()
            names[name] += 1
    return names


def busy_cpu_seconds() -> float:
    """The machine's CPU time spent outside idle and iowait so far."""
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def log_problems(instances: list[Dovecot]) -> dict[str, int]:
    """How many error lines each instance has logged so far."""
    return {instance.name: len(instance.problems()) for instance in instances}


def run_load(reader: Reader, instances: list[Dovecot], sessions: int, seconds: float,
             owner: Reader, owner_sessions: int) -> LoadResult:
    """`sessions` concurrent sessions of `reader` for `seconds`, while
    `owner_sessions` of the owner change the folder: what they did, and the
    error lines `instances` logged meanwhile."""
    # Opened once before, as by a client that knows the folder: the rows
    # above did, and with --only load the local caches start cold.
    imap = reader.connect()
    check(imap.select(reader.folder, readonly=True))
    imap.logout()
    result, lock = LoadResult(), threading.Lock()
    before = log_problems(instances)
    cpu_before = busy_cpu_seconds()
    start = time.monotonic()
    threads = [threading.Thread(target=load_session, args=(reader, start + seconds, seed, result, lock))
               for seed in range(sessions)]
    threads += [threading.Thread(target=owner_session, args=(owner, start + seconds, seed, result, lock))
                for seed in range(owner_sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - start
    result.cpu_seconds = busy_cpu_seconds() - cpu_before
    time.sleep(1)  # Dovecot's log process writes after the client is answered
    after = log_problems(instances)
    result.log_errors = sum(after[name] - before[name] for name in after)
    for instance in instances:
        for line in instance.problems()[before[instance.name]:][:2]:
            if len(result.samples) < 5:
                result.samples.append(f"{instance.name}: {line[:160]}")
    return result


def median_load(results: list[LoadResult]) -> LoadResult:
    """The run of median throughput, its errors those of all runs."""
    ordered = sorted(results, key=lambda r: r.commands / r.seconds)
    median = ordered[len(ordered) // 2]
    median.protocol_errors = sum(r.protocol_errors for r in results)
    median.log_errors = sum(r.log_errors for r in results)
    median.samples = [sample for r in results for sample in r.samples][:5]
    return median


def print_commands(operations, readers, results, shown=6):
    """Each row's remote commands (last run), the first few of each path."""
    for name, _ in operations:
        print(f"\n{name}")
        for reader in readers:
            result = results[(name, reader.name)]
            commands = [] if result is None else result[1]
            more = f" … (+{len(commands) - shown})" if len(commands) > shown else ""
            print(f"  {reader.name:15} " + " | ".join(c[:60] for c in commands[:shown]) + more)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--owners", type=int, default=50)
    parser.add_argument("--only", metavar="TEXT", default="",
                        help="only the rows whose name contains TEXT (e.g. FETCH, LIST)")
    parser.add_argument("--show-commands", action="store_true",
                        help="also print the remote commands of each row's last run")
    parser.add_argument("--load-sessions", type=int, default=6, metavar="N",
                        help="concurrent sessions per path in the load row (default 6)")
    parser.add_argument("--load-seconds", type=float, default=10, metavar="T",
                        help="how long the load row runs on each path (default 10)")
    parser.add_argument("--load-runs", type=int, default=3, metavar="N",
                        help="runs of the load row per path, in turn; the median is shown (default 3)")
    parser.add_argument("--load-owner-sessions", type=int, default=2, metavar="N",
                        help="the owner's sessions changing the folder during the load row (default 2)")
    args = parser.parse_args()
    operations = [op for op in OPERATIONS if args.only.lower() in op[0].lower()]
    with_list = args.only.lower() in "list shared/*"
    with_idle = args.only.lower() in IDLE_ROW.lower()
    with_session_cost = args.only.lower() in "every session"
    with_load = args.only.lower() in "load" and args.load_sessions > 0 and args.load_seconds > 0
    if with_session_cost:
        # Clusters of their own, before the big one: nothing else running.
        session_costs = [session_cost(plugins, args.runs) for plugins in (("acl", "shared_imapc"), ("acl",))]

    owners = [User(f"owner{i:02d}", f"pw{i}") for i in range(args.owners)]
    users = [User("alice", "alice-pw"), User("bob", "bob-pw")] + owners
    homes = {"alice": 0, "bob": 1, **{u.name: i % 2 for i, u in enumerate(owners)}}
    # Only alice's sessions (hers and the master sessions on her account)
    # are rawlogged: the same cost on both paths.
    cluster = Cluster(users=users, homes=homes, shared_imapc=True, rawlog=("alice",),
                      backend_config="mail_location = mdbox:~/mdbox\nmail_max_userip_connections = 1000\n").start()
    extra_nodes = []
    try:
        print(f"Preparing: {args.messages} messages in alice's {FOLDER}, {args.owners} owners sharing with bob ...",
              flush=True)
        write_folder(cluster, "alice", FOLDER, args.messages)
        cluster.share("alice", FOLDER, "bob", "lookup read")
        for owner in owners:
            imap = cluster.login(owner.name)
            imap.create("Shared")
            imap.logout()
            cluster.share(owner.name, "Shared", "bob", "lookup read")
        alice = cluster.login("alice")
        check(alice.select(FOLDER))
        alice.logout()
        node = imapc_node(cluster)
        extra_nodes.append(node)
        shared_node = imapc_shared_node(cluster, owners)
        extra_nodes.append(shared_node)

        def proxy_login(user, password):
            def connect():
                imap = imaplib.IMAP4("127.0.0.1", cluster.proxy.port)
                imap.login(user, password)
                return imap
            return connect

        def node_login():
            imap = imaplib.IMAP4("127.0.0.1", node.port)
            imap.login("bob", "bob-pw")
            return imap

        owner_direct = Reader("owner direct", proxy_login("alice", "alice-pw"), FOLDER)
        readers = [
            Reader("shared_imapc", proxy_login("bob", "bob-pw"), f'"shared/alice/{FOLDER}"',
                   cluster.home("bob") / "shared" / "alice"),
            Reader("built-in imapc", node_login, FOLDER, node.dir / "home" / "bob" / "imapc"),
            owner_direct,
        ]
        results = {}
        for name, operation in operations:
            for reader in readers:
                try:
                    results[(name, reader.name)] = measure(cluster, reader, lambda r: operation(r, cluster), args.runs)
                except (imaplib.IMAP4.error, RuntimeError, OSError) as e:
                    problems = [p for inst in cluster.instances + [node] for p in inst.problems()]
                    crashed = [p for p in problems if "killed with signal" in p or "Panic" in p]
                    results[(name, reader.name)] = None
                    print(f"  {reader.name}: {name} failed: {e}", flush=True)
                    for line in crashed[-2:]:
                        print(f"    {line[:200]}", flush=True)
            print(f"  measured: {name}", flush=True)
        list_cache = cluster.home("bob") / ".shared_imapc.lists"
        bob_at_proxy = proxy_login("bob", "bob-pw")

        def bob_at_shared_node():
            imap = imaplib.IMAP4("127.0.0.1", shared_node.port)
            imap.login("bob", "bob-pw")
            return imap

        if with_list:
            listings = {
                "cold": list_many_owners(bob_at_proxy, args.runs, lambda: drop_list_cache(list_cache)),
                "cached": list_many_owners(bob_at_proxy, args.runs),
                "built-in": list_many_owners(bob_at_shared_node, args.runs),
            }
            logins = connections_per_session(cluster, args.owners)
            floor = plain_logins_and_lists(cluster, owners, args.runs, PARALLEL_LOGINS)
        if with_idle:
            # It appends to the folder: after the rows that read it.
            alice = cluster.login("alice")
            with rawlog_off(cluster):
                idle_ms = {reader.name: idle_latency(reader, alice, args.runs) for reader in readers}
            alice.logout()
            print(f"  measured: {IDLE_ROW}", flush=True)
        if with_load:
            # Last: its STOREs and APPENDs change the folder the rows above read.
            # bob may change it now (the rows above read it with lookup read).
            cluster.share("alice", FOLDER, "bob", LOAD_RIGHTS)
            runs = {reader.name: [] for reader in readers}
            # The paths in turn, run after run: the machine's own swings
            # then fall on each path alike.
            for run in range(args.load_runs):
                for reader in readers:
                    with rawlog_off(cluster):
                        runs[reader.name].append(run_load(reader, cluster.instances + [node], args.load_sessions,
                                                          args.load_seconds, owner_direct, args.load_owner_sessions))
                    print(f"  measured: load, {reader.name}, run {run + 1}", flush=True)
            loads = {name: median_load(results) for name, results in runs.items()}
            if args.show_commands:
                # One more, shorter run per remote path with alice's rawlog on.
                load_commands = {}
                for reader in readers[:2]:
                    before = master_session_commands(cluster)
                    counted = run_load(reader, cluster.instances + [node], args.load_sessions,
                                       min(args.load_seconds, 3), owner_direct, args.load_owner_sessions)
                    load_commands[reader.name] = (counted.commands, master_session_commands(cluster) - before)

        print()
        print(f"{args.messages} messages, medians of {args.runs} runs, ms (remote commands on alice's backend)")
        header = f"{'operation':42} {'shared_imapc':>18} {'built-in imapc':>18} {'owner direct':>16} {'vs imapc':>9} {'vs owner':>9}"
        print(header)
        print("-" * len(header))
        for name, _ in operations:
            ours, builtin, direct = (results[(name, r.name)] for r in readers)
            cell = lambda r: "failed" if r is None else f"{r[0]:9.1f} ({len(r[1]):>5})"
            ratio = lambda a, b: "-" if a is None or b is None else f"{a[0] / b[0]:.2f}x"
            print(f"{name:42} {cell(ours):>18} {cell(builtin):>18} {cell(direct):>16} "
                  f"{ratio(builtin, ours):>9} {ratio(ours, direct):>9}")
        if with_list:
            builtin_ms, builtin_listed = listings["built-in"]
            for label, key in (("LIST shared/*, first session", "cold"), ("LIST shared/*, next sessions", "cached")):
                ms, listed = listings[key]
                print(f"{label + f' ({args.owners} owners)':42} {ms:9.1f} ({listed:>3} fold.) {builtin_ms:9.1f} "
                      f"({builtin_listed:>3} fold.) {'-':>16} {builtin_ms / ms:8.2f}x {'-':>9}")
            print(f"{'  the floor: plain logins + LIST, ' + str(PARALLEL_LOGINS) + ' at a time':42} {floor:9.1f}")
            print(f"remote logins in one session that lists {args.owners + 1} owners and reads alice's folder:"
                  f" {logins}")
        if with_idle:
            cells = [f"{idle_ms[r.name]:9.1f}" for r in readers]
            print(f"{IDLE_ROW:42} {cells[0]:>18} {cells[1]:>18} {cells[2]:>16}")
        if with_session_cost:
            (with_ms, with_kb), (without_ms, without_kb) = session_costs
            print(f"{'every session on a backend: login+LIST ms':42} {with_ms:9.1f} {'':8} {without_ms:9.1f}"
                  " (without the plugin)")
            print(f"{'  its imap process, private memory kB':42} {with_kb:9.0f} {'':8} {without_kb:9.0f}"
                  " (without the plugin)")
        if with_load:
            print()
            print(f"load: {args.load_sessions} sessions of one user for {args.load_seconds:g} s per path, each"
                  " selecting the folder (FETCH, UID STORE, UID SEARCH, NOOP, APPEND), while"
                  f" {args.load_owner_sessions} of the owner's change it (flags, APPEND, EXPUNGE);"
                  f" the median of {args.load_runs} run(s), errors of all")
            header = (f"{'path':16} {'commands/s':>11} {'commands':>9} {'protocol errors':>16} {'log error lines':>16}"
                      f" {'CPU ms/command':>15} {'vs owner':>9}")
            print(header)
            print("-" * len(header))
            owner_rate = loads[owner_direct.name].commands / loads[owner_direct.name].seconds
            for reader in readers:
                load = loads[reader.name]
                rate = load.commands / load.seconds
                print(f"{reader.name:16} {rate:11.1f} {load.commands:9} {load.protocol_errors:16} "
                      f"{load.log_errors:16} {1000 * load.cpu_seconds / load.commands:15.2f} {owner_rate / rate:8.2f}x")
            print("  commands/s of each run: " + "; ".join(
                f"{name} " + ", ".join(f"{r.commands / r.seconds:.0f}" for r in results) for name, results in runs.items()))
            for reader in readers:
                load = loads[reader.name]
                print(f"  {reader.name}: mean ms: " + ", ".join(f"{a} {load.mean_ms(a)}" for a, _ in LOAD_MIX))
            for reader in readers:
                for sample in loads[reader.name].samples:
                    print(f"  {reader.name}: {sample}")
            if args.show_commands:
                for name, (commands, remote) in load_commands.items():
                    print(f"  {name}: remote commands per command {sum(remote.values()) / commands:.2f}: "
                          + ", ".join(f"{verb} {count / commands:.2f}" for verb, count in remote.most_common(8)))
        print()
        print("vs imapc: the built-in imapc's time / ours (higher is better for us);"
              " vs owner: ours / the owner's direct time (1.0 is the limit).")
        print("LIST rows count the owners' folders listed; the built-in imapc runs the wiki's shared"
              " namespace (see imapc_shared_node); 'next sessions' lists from the listing cache"
              " (shared_imapc_list_cache_time); 'the floor' is a plain"
              " client logging in to each owner as bob the master user and listing, no plugin in the way.")
        if args.show_commands:
            print_commands(operations, readers, results)
    finally:
        for node in extra_nodes:
            node.stop()
        cluster.remove()


if __name__ == "__main__":
    main()
