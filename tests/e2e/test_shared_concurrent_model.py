"""Several sessions of one user and the owner change one shared folder at
once; each keeps a model of what it was told and checks every answer
against it (read-your-writes per session):

- each session has a keyword of its own that only it sets or clears: every
  FETCH it makes shows that keyword exactly as its last acknowledged STORE
  left it, on every message still there;
- the messages a session appended ([APPENDUID]) and did not expunge itself
  are in its view after a NOOP;
- no command fails, no session is told BYE, no Dovecot log has an error.
"""

import random
import re
import threading
import time

from support.cluster import seed_team_folder

ALL_RIGHTS = "lookup read write write-seen write-deleted insert expunge"
SESSIONS = 5
SECONDS = 15


class Model:
    """What one session was told about the folder."""

    def __init__(self, name: str):
        self.keyword = f"$k{name}"
        self.marked: dict[int, bool] = {}
        self.appended: set[int] = set()
        self.failures: list[str] = []

    def check_view(self, data) -> set[int]:
        """Checks a FETCH (UID FLAGS) answer; returns the UIDs it showed."""
        seen = set()
        for line in data:
            match = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)", line or b"")
            if not match:
                continue
            uid = int(match[1] or match[4])
            flags = (match[2] if match[1] else match[3]).decode().split()
            seen.add(uid)
            has = self.keyword.lower() in (f.lower() for f in flags)
            if uid in self.marked and self.marked[uid] != has:
                self.failures.append(f"UID {uid}: {self.keyword} is {has}, the session's STORE left it {self.marked[uid]}")
        return seen


def run_session(cluster, who: str, folder: str, model: Model, seed: int, stop: float) -> None:
    rng = random.Random(seed)
    imap = cluster.login(who)
    try:
        status, data = imap.select(folder)
        assert status == "OK", data
        while time.monotonic() < stop:
            status, data = imap.uid("SEARCH", "ALL")
            uids = [int(u) for u in data[0].split()]
            action = rng.choice(["mark", "mark", "fetch", "append", "expunge", "noop"])
            if action == "mark" and uids:
                uid = rng.choice(uids)
                on = rng.random() < 0.5
                status, data = imap.uid("STORE", str(uid), "+FLAGS" if on else "-FLAGS", f"({model.keyword})")
                if status == "OK":
                    model.marked[uid] = on
            elif action == "append":
                body = f"Subject: from {model.keyword}\r\n\r\nx\r\n".encode()
                status, data = imap.append(folder, None, None, body)
                code = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
                if status == "OK" and code:
                    model.appended.add(int(code[1]))
                elif status == "OK":
                    model.failures.append(f"APPEND without [APPENDUID]: {data}")
            elif action == "expunge" and model.appended:
                uid = rng.choice(sorted(model.appended))
                status, data = imap.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
                if status == "OK":
                    status, data = imap.uid("EXPUNGE", str(uid))
                    model.appended.discard(uid)
                    model.marked.pop(uid, None)
            elif action == "fetch":
                status, view = imap.uid("FETCH", "1:*", "(UID FLAGS)")
                model.check_view(view)
            else:
                status, data = imap.noop()
                status, view = imap.fetch("1:*", "(UID FLAGS)")
                shown = model.check_view(view)
                missing = model.appended - shown
                if missing:
                    model.failures.append(f"appended and not shown after NOOP: {sorted(missing)}")
            if status != "OK":
                model.failures.append(f"{action}: {status} {data}")
        imap.logout()
    except Exception as e:  # a BYE ("session state is inconsistent") ends it
        model.failures.append(f"{who} session {seed}: {e!r}")


def test_each_session_reads_its_own_acknowledged_changes_while_others_change_the_folder(make_cluster):
    cluster = make_cluster(shared_imapc=True)
    seed_team_folder(cluster, count=20)
    cluster.share("alice", "Team", "bob", ALL_RIGHTS)
    stop = time.monotonic() + SECONDS
    sessions = [("bob", '"shared/alice/Team"', Model(f"bob{n}"), n) for n in range(SESSIONS)]
    sessions.append(("alice", "Team", Model("alice"), 100))
    threads = [
        threading.Thread(target=run_session, args=(cluster, who, folder, model, seed, stop))
        for who, folder, model, seed in sessions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    failures = [failure for _, _, model, _ in sessions for failure in model.failures]
    assert not failures, failures[:10]
    assert cluster.problems() == {}
