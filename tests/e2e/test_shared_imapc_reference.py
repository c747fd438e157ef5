"""Dovecot's built-in imapc as the reference (issue #17, Tests): the same
client steps on alice's shared folders, by bob, through shared_imapc (bob
on his backend, `shared/alice/X`) and through the built-in imapc (bob on a
Dovecot of its own, `shared/alice/` an imapc namespace on alice's account,
logged in as alice with bob as master user: Cluster.start_imapc_node).
Both must succeed with the same outcome: subscriptions, IDLE push,
SETACL/DELETEACL, CREATE/RENAME/DELETE, a MODSEQ search with an entry
name, CONTEXT=SEARCH updates. Asserted on behaviour, not on timings: IDLE
waits far below mailbox_idle_check_interval, on both."""

import re
import time

import pytest

from support.cluster import raw_command, seed_team_folder

# Far below mailbox_idle_check_interval (10 minutes): only a push delivers.
WAIT = 20
IDLE_CHECK = "mailbox_idle_check_interval = 10 mins\n"


class Path:
    """One way for bob to reach alice's folders."""

    def __init__(self, cluster, node=None):
        self.cluster, self.node = cluster, node

    def bob(self):
        if self.node is None:
            return self.cluster.login("bob")
        imap = self.node.connect()
        imap.login("bob", self.cluster.password("bob"))
        return imap


@pytest.fixture(params=["shared_imapc", "built-in imapc"])
def path(request, make_cluster):
    cluster = make_cluster(shared_imapc=True, backend_config=IDLE_CHECK)
    assert cluster.backend_of("alice") is not cluster.backend_of("bob")
    seed_team_folder(cluster)
    seed_team_folder(cluster, folder="Projects", count=1)
    cluster.share("alice", "Team", "bob", "lookup read write-seen write admin create delete")
    cluster.share("alice", "Projects", "bob", "lookup read")
    node = cluster.start_imapc_node(config=IDLE_CHECK) if request.param == "built-in imapc" else None
    yield Path(cluster, node)
    problems = cluster.problems()
    if node is not None:
        # The built-in imapc's DELETE: Dovecot opens the folder on alice's
        # server before deleting it, which then ends that session, and imapc
        # logs this as an error (DELETE still answers OK, as checked).
        deleted = "Server disconnected with message: Selected mailbox was deleted"
        problems[node.name] = [line for line in problems.get(node.name, []) if deleted not in line]
        problems = {name: lines for name, lines in problems.items() if lines}
    assert not problems, problems


def as_alice(cluster, command, *args):
    alice = cluster.login("alice")
    try:
        status, data = getattr(alice, command)(*args)
        assert status == "OK", data
        return data
    finally:
        alice.logout()


def names(lines):
    return {line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if line}


def test_subscribed_shared_folder_is_listed(path):
    bob = path.bob()
    assert bob.subscribe('"shared/alice/Projects"')[0] == "OK"
    status, lines = bob.lsub('""', '"*"')
    assert status == "OK" and "shared/alice/Projects" in names(lines), lines
    status, _ = bob._simple_command("LIST", "(SUBSCRIBED)", '""', '"*"')
    lines = bob.untagged_responses.pop("LIST", [])
    assert status == "OK", lines
    assert "shared/alice/Projects" in names(line for line in lines if b"\\Subscribed" in line), lines
    bob.logout()


def test_alices_append_reaches_bobs_idle(path):
    bob = path.bob()
    assert bob.select('"shared/alice/Team"') == ("OK", [b"5"])
    tag = bob._new_tag()
    bob.send(tag + b" IDLE\r\n")
    assert bob.readline().startswith(b"+")
    as_alice(path.cluster, "append", "Team", None, None, b"Subject: during idle\r\n\r\nhi\r\n")
    bob.sock.settimeout(WAIT)
    while not re.match(rb"^\* 6 EXISTS", line := bob.readline()):
        assert line, "connection closed"
    bob.send(b"DONE\r\n")
    while not (line := bob.readline()).startswith(tag):
        assert line, "connection closed"
    assert line.startswith(tag + b" OK"), line
    bob.logout()


def test_setacl_is_done_on_alices_server_with_bobs_rights(path):
    bob = path.bob()
    assert bob.setacl('"shared/alice/Team"', "carol", "lr")[0] == "OK"
    assert " carol lr" in as_alice(path.cluster, "getacl", "Team")[0].decode()
    assert bob.deleteacl('"shared/alice/Team"', "carol")[0] == "OK"
    assert " carol " not in as_alice(path.cluster, "getacl", "Team")[0].decode()
    # Projects: bob has no `a` right there.
    assert bob.setacl('"shared/alice/Projects"', "carol", "lr")[0] == "NO"
    assert " carol " not in as_alice(path.cluster, "getacl", "Projects")[0].decode()
    bob.logout()


def test_create_rename_delete_are_done_on_alices_server(path):
    bob = path.bob()
    assert bob.create('"shared/alice/Team/Sub"')[0] == "OK"
    assert "Team/Sub" in names(as_alice(path.cluster, "list"))
    assert bob.rename('"shared/alice/Team/Sub"', '"shared/alice/Team/Renamed"')[0] == "OK"
    folders = names(as_alice(path.cluster, "list"))
    assert "Team/Renamed" in folders and "Team/Sub" not in folders, folders
    assert bob.delete('"shared/alice/Team/Renamed"')[0] == "OK"
    assert not {"Team/Sub", "Team/Renamed"} & names(as_alice(path.cluster, "list"))
    bob.logout()


def test_modseq_search_with_an_entry_name(path):
    bob = path.bob()
    raw_command(bob, "EXAMINE \"shared/alice/Team\"")
    status, lines = raw_command(bob, 'SEARCH RETURN (MIN) MODSEQ "/flags/\\\\seen" all 1')
    assert status == "OK" and [line for line in lines if line.startswith("* ESEARCH")], lines
    bob.logout()


def test_search_updates_follow_the_owners_change(path):
    bob = path.bob()
    raw_command(bob, "SELECT \"shared/alice/Team\"")
    tag = bob._new_tag().decode()
    bob.tagnum -= 1  # raw_command() takes the same tag again
    status, lines = raw_command(bob, "UID SEARCH RETURN (UPDATE) KEYWORD $X")
    # (Dovecot may announce the keyword in FLAGS alongside.)
    assert status == "OK" and f'* ESEARCH (TAG "{tag}") UID' in lines, lines
    alice = path.cluster.login("alice")
    alice.select("Team")
    assert alice.uid("STORE", "2", "+FLAGS", "($X)")[0] == "OK"
    alice.logout()
    # The built-in imapc may hear of the change only at a later NOOP.
    told = []
    for _ in range(10):
        status, lines = raw_command(bob, "NOOP")
        assert status == "OK", lines
        told += lines
        if f'* ESEARCH (TAG "{tag}") UID ADDTO (0 2)' in told:
            break
        time.sleep(0.3)
    assert f'* ESEARCH (TAG "{tag}") UID ADDTO (0 2)' in told, told
    bob.logout()
