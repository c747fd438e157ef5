"""Security of shared_imapc end to end: no reach into folders shared with
the owner, no secret in any log, never a login as the owner with the owner
as master user, and the owner's servers see (and limit by) the address of
the user's own client."""

import imaplib
import re
import socket

from support.cluster import DEFAULT_USERS, User, seed_team_folder

USERS = DEFAULT_USERS + [User("dave", "dave-pw")]
# alice and carol on backend A, bob and dave on backend B.
HOMES = {"alice": 0, "bob": 1, "carol": 0, "dave": 1}


def listed(imap, pattern):
    status, lines = imap.list('""', pattern)
    assert status == "OK", lines
    return sorted(line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if line)


def test_no_reach_into_folders_shared_with_the_owner(make_cluster):
    cluster = make_cluster(shared_imapc=True, users=USERS, homes=HOMES)
    seed_team_folder(cluster, owner="dave", folder="Plans")
    cluster.share("dave", "Plans", "alice", "lookup read")
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read")
    # alice herself reads what dave shared with her.
    alice = cluster.login("alice")
    assert listed(alice, "shared/*") == ["shared/dave", "shared/dave/Plans"]
    assert alice.select('"shared/dave/Plans"', readonly=True)[0] == "OK"
    alice.logout()
    # bob, reading alice's folders, does not reach it.
    bob = cluster.login("bob")
    assert listed(bob, "shared/*") == ["shared/alice", "shared/alice/Team"]
    assert listed(bob, "shared/alice/*") == ["shared/alice/Team"]
    for name in ('"shared/alice/shared/dave/Plans"', '"shared/alice/shared"'):
        assert bob.select(name, readonly=True)[0] == "NO"
        assert bob.status(name, "(MESSAGES)")[0] == "NO"
    bob.logout()
    # Nobody logged in as dave on alice's behalf, for bob or otherwise.
    proxy_log = cluster.proxy.log()
    assert not re.search(r"proxy\(dave,[^\n]*\(master bob\)", proxy_log), proxy_log
    # Only alice's own reading of dave's folder logged in as dave.
    # (A chain through alice's backend would have added logins here.)
    assert re.findall(r"proxy\(dave,[^\n]*\(master \w+\)", proxy_log) == [
        m for m in re.findall(r"proxy\(dave,[^\n]*\(master \w+\)", proxy_log) if "(master alice)" in m
    ]
    assert len(re.findall(r"proxy\(dave,[^\n]*\(master alice\)", proxy_log)) == 1, proxy_log


def test_the_master_secret_is_never_logged(make_cluster):
    cluster = make_cluster(shared_imapc=True, mail_debug=True, backend_config="auth_debug = yes\nauth_verbose = yes\n")
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read")
    bob = cluster.login("bob")
    assert listed(bob, "shared/*") == ["shared/alice", "shared/alice/Team"]
    bob.select('"shared/alice/Team"', readonly=True)
    bob.fetch("1:*", "(ENVELOPE BODY.PEEK[])")
    bob.search(None, "BODY", "Body")
    bob.logout()
    # Dovecot's log process writes after the client is answered: wait for
    # the session's last line before reading every log.
    backend = cluster.backend_of("bob")
    backend.wait_for_log("shared_imapc: alice: UID SEARCH")  # mail_debug shows remote commands
    backend.wait_for_log("Disconnected: Logged out")  # bob's, the only session there
    assert cluster.master_password not in cluster.logs()


def test_the_owner_never_logs_in_as_herself_with_herself_as_master(make_cluster):
    cluster = make_cluster(shared_imapc=True)
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "anyone", "lookup read")
    for user in ("alice", "bob"):
        imap = cluster.login(user)
        listed(imap, "shared/*")
        imap.status('"shared/alice/Team"', "(MESSAGES)")
        imap.logout()
    log = cluster.proxy.log()
    assert "(master bob)" in log
    assert "(master alice)" not in log, log


class IMAP4From(imaplib.IMAP4):
    """An IMAP client connecting from a given loopback address."""

    def __init__(self, source, port):
        self.source = source
        super().__init__("127.0.0.1", port)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


def test_the_owners_servers_see_and_limit_the_users_own_address(make_cluster):
    cluster = make_cluster(shared_imapc=True, backend_config="mail_max_userip_connections = 3\n")
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read")
    # Three sessions of bob, each with alice's folder open: as many as the
    # limit allows per user and address. Counted by our address, alice
    # could not log in any more.
    sessions = []
    for _ in range(3):
        bob = IMAP4From("127.0.0.3", cluster.proxy.port)
        bob.login("bob", "bob-pw")
        bob.select('"shared/alice/Team"', readonly=True)
        sessions.append(bob)
    # alice, from her own address, is not locked out by bob's sessions.
    alice = cluster.login("alice")
    assert alice.select("Team")[0] == "OK"
    alice.logout()
    # alice's backend logged bob's sessions with bob's address.
    log = cluster.backend_of("alice").log()
    assert re.search(r"Login: user=<alice>, method=PLAIN, rip=127\.0\.0\.3", log), log
    for bob in sessions:
        bob.logout()


def test_group_rights_are_the_viewers_groups_not_the_owners(make_cluster):
    users = [User("alice", "alice-pw", ["staff"]), User("bob", "bob-pw", ["team"]),
             User("carol", "carol-pw", ["staff"])]
    cluster = make_cluster(shared_imapc=True, users=users, homes={"alice": 0, "bob": 1, "carol": 1})
    seed_team_folder(cluster, folder="Team")
    seed_team_folder(cluster, folder="Staff")
    backend = cluster.backend_of("alice")
    backend.doveadm("acl", "set", "-u", "alice", "Team", "group=team", "lookup", "read")
    backend.doveadm("acl", "set", "-u", "alice", "Staff", "group=staff", "lookup", "read")
    # bob is in team, not in staff (alice is): he sees Team only.
    bob = cluster.login("bob")
    assert listed(bob, "shared/*") == ["shared/alice", "shared/alice/Team"]
    assert bob.select('"shared/alice/Staff"', readonly=True)[0] == "NO"
    assert bob.select('"shared/alice/Team"', readonly=True)[0] == "OK"
    bob.logout()
    carol = cluster.login("carol")
    assert listed(carol, "shared/*") == ["shared/alice", "shared/alice/Staff"]
    carol.logout()


def test_an_owner_the_userdb_does_not_know_looks_like_a_missing_folder(make_cluster):
    """As with Dovecot's own shared namespaces: `Mailbox doesn't exist`,
    the same answer as for an owner's missing folder, and no login."""
    cluster = make_cluster(shared_imapc=True)
    bob = cluster.login("bob")
    for folder in ('"shared/nobody/INBOX"', '"shared/alice/Nope"'):
        for answer in (bob.select(folder, readonly=True), bob.status(folder, "(MESSAGES)")):
            assert answer[0] == "NO" and b"Mailbox doesn't exist" in answer[1][0], (folder, answer)
    assert listed(bob, "shared/nobody/*") == []
    bob.logout()
    assert "proxy(nobody" not in cluster.proxy.log()
    assert cluster.problems() == {}


def test_a_user_without_rights_learns_nothing_after_the_owners_own_status(make_cluster):
    """Dovecot 2.3.19 with `mailbox_list_index = yes` answers a master-user
    session's STATUS from the list index before the acl plugin's check:
    right after alice's own STATUS refreshed it, users without any right on
    her folder got its counts. (Measured with mdbox, as the benchmark's
    cluster has it; Maildir's list index kept no counts here.)"""
    config = ("mailbox_list_index = yes\nmail_location = mdbox:~/mdbox\n"
              "protocol imap {\n  imap_metadata = yes\n}\nmail_attribute_dict = file:%h/dovecot-attributes\n")
    cluster = make_cluster(shared_imapc=True, users=USERS, homes=HOMES, backend_config=config)
    seed_team_folder(cluster, folder="Projects")
    cluster.share("alice", "Projects", "bob", "lookup read")
    alice = cluster.login("alice")
    assert alice.status("Projects", "(MESSAGES UIDNEXT UNSEEN)")[0] == "OK"
    assert alice._simple_command("SETMETADATA", "Projects", '(/shared/comment "secret plans")')[0] == "OK"
    alice.logout()
    for user in ("carol", "dave"):  # on alice's backend and on the other one
        imap = cluster.login(user)
        assert_learns_nothing(imap, "shared/alice/Projects")
        imap.logout()
    # With the lookup right alone, as Dovecot's acl plugin answers for a
    # folder of its own: the folder is there, its contents are not readable.
    cluster.share("alice", "Projects", "dave", "lookup")
    dave = cluster.login("dave")
    dave.untagged_responses.clear()
    status, data = dave.status('"shared/alice/Projects"', "(MESSAGES UIDNEXT UNSEEN)")
    assert status == "NO" and b"Permission denied" in data[0], data
    assert "STATUS" not in dave.untagged_responses
    dave.logout()
    # bob, who has the rights, still gets the counts.
    bob = cluster.login("bob")
    status, data = bob.status('"shared/alice/Projects"', "(MESSAGES)")
    assert status == "OK" and b"MESSAGES 5" in data[0], data
    bob.logout()


imaplib.Commands.setdefault("GETMETADATA", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))


# Untagged responses (and codes, which imaplib files alike) that tell about a folder.
TELLING = ("STATUS", "EXISTS", "RECENT", "FLAGS", "PERMANENTFLAGS", "UIDVALIDITY", "UIDNEXT",
           "UNSEEN", "HIGHESTMODSEQ", "MYRIGHTS", "ACL", "METADATA")


def assert_learns_nothing(imap, folder):
    """Every way of asking about `folder` answers as for a folder that does
    not exist: `NO [NONEXISTENT] Mailbox doesn't exist`, no untagged data."""
    quoted = f'"{folder}"'
    assert folder not in listed(imap, "*")
    assert folder not in listed(imap, folder.rsplit("/", 1)[0] + "/*")
    answers = {
        "STATUS": lambda: imap.status(quoted, "(MESSAGES UIDNEXT UNSEEN)"),
        "EXAMINE": lambda: imap.select(quoted, readonly=True),
        "SELECT": lambda: imap.select(quoted),
        "MYRIGHTS": lambda: imap._simple_command("MYRIGHTS", quoted),
        "GETACL": lambda: imap._simple_command("GETACL", quoted),
        "GETMETADATA": lambda: imap._simple_command("GETMETADATA", quoted, "/shared/comment"),
    }
    for command, ask in answers.items():
        imap.untagged_responses.clear()
        status, data = ask()
        assert status == "NO", (command, data)
        assert f"Mailbox doesn't exist: {folder}".encode() in data[0], (command, data)
        told = {k: v for k, v in imap.untagged_responses.items() if k in TELLING}
        assert told == {}, (command, told)
