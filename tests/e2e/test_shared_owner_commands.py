"""Commands that go to the owner's server whole, through the imap plugin
module imap_shared_imapc (issue #17): SETACL and DELETEACL done by alice's
server with bob's rights there, METADATA's /shared entries read and written
on alice's server while /private ones stay bob's own, and GETQUOTAROOT /
GETQUOTA answering alice's quota."""

import imaplib
import re

import pytest

from support.cluster import DEFAULT_USERS, User, seed_team_folder

TEAM = '"shared/alice/Team"'
USERS = [*DEFAULT_USERS, User("dave", "dave-pw")]

imaplib.Commands.setdefault("GETMETADATA", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))

# METADATA on every backend (Dovecot keeps the entries in a dict), and the
# quota plugins with a limit that GETQUOTAROOT reports.
METADATA_AND_QUOTA = """
mail_attribute_dict = file:%h/dovecot-attributes
protocol imap {
  imap_metadata = yes
  mail_plugins = $mail_plugins quota imap_quota
}
plugin {
  quota = count:User quota
  quota_rule = *:storage=10M
  quota_vsizes = yes
}
"""


@pytest.fixture
def cluster(make_cluster):
    cluster = make_cluster(shared_imapc=True, users=USERS, backend_config=METADATA_AND_QUOTA)
    assert cluster.backend_of("alice") is not cluster.backend_of("bob")
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read admin")
    cluster.share("alice", "Team", "dave", "lookup read")
    return cluster


def alices_acl(cluster):
    alice = cluster.login("alice")
    status, data = alice.getacl("Team")
    alice.logout()
    assert status == "OK", data
    return data[0].decode()


def listed(imap, pattern):
    status, lines = imap.list('""', pattern)
    assert status == "OK", lines
    return sorted(line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if line)


def carol_lists(cluster):
    carol = cluster.login("carol")
    folders = listed(carol, "shared/*")
    carol.logout()
    return folders


def test_setacl_and_deleteacl_are_done_by_the_owners_server(cluster):
    assert "shared/alice/Team" not in carol_lists(cluster)
    bob = cluster.login("bob")
    assert bob.setacl(TEAM, "carol", "lr")[0] == "OK"
    assert re.search(r"\bcarol lr\b", alices_acl(cluster)), alices_acl(cluster)
    # alice's server updated the shared dictionary: carol sees the folder.
    assert "shared/alice/Team" in carol_lists(cluster)
    status, data = bob.getacl(TEAM)
    assert status == "OK" and b"carol lr" in data[0], data

    assert bob.deleteacl(TEAM, "carol")[0] == "OK"
    assert "carol" not in alices_acl(cluster)
    assert "shared/alice/Team" not in carol_lists(cluster)
    bob.logout()


def test_setacl_without_the_admin_right_is_refused_and_changes_nothing(cluster):
    before = alices_acl(cluster)
    dave = cluster.login("dave")
    status, data = dave.setacl(TEAM, "carol", "lr")
    assert status == "NO" and b"NOPERM" in data[0], data
    status, data = dave.deleteacl(TEAM, "bob")
    assert status == "NO" and b"NOPERM" in data[0], data
    dave.logout()
    assert alices_acl(cluster) == before
    assert "shared/alice/Team" not in carol_lists(cluster)


def metadata(imap, mailbox, *entries):
    imap.untagged_responses.pop("METADATA", None)
    status, data = imap._simple_command("GETMETADATA", mailbox, f"({' '.join(entries)})")
    assert status == "OK", data
    return flat(imap.untagged_responses.pop("METADATA", []))


def flat(data):
    """Untagged data as one text, literals (imaplib's tuples) inline."""
    parts = [b"".join(part) if isinstance(part, tuple) else part for part in data]
    return b" ".join(parts).decode()


def set_metadata(imap, mailbox, entry, value):
    return imap._simple_command("SETMETADATA", mailbox, f'({entry} "{value}")')


def test_shared_metadata_is_the_owners_and_private_metadata_the_viewers(cluster):
    alice = cluster.login("alice")
    assert set_metadata(alice, "Team", "/shared/comment", "from alice")[0] == "OK"
    bob = cluster.login("bob")
    assert "from alice" in metadata(bob, TEAM, "/shared/comment")

    # bob's /shared entry lands on alice's server, his /private one stays his.
    assert set_metadata(bob, TEAM, "/shared/comment", "from bob")[0] == "OK"
    assert set_metadata(bob, TEAM, "/private/comment", "bob's own")[0] == "OK"
    assert "from bob" in metadata(alice, "Team", "/shared/comment")
    assert "bob's own" not in metadata(alice, "Team", "/private/comment")
    both = metadata(bob, TEAM, "/shared/comment", "/private/comment")
    assert "from bob" in both and "bob's own" in both, both
    # DEPTH lists alice's shared entries.
    bob.untagged_responses.pop("METADATA", None)
    status, data = bob._simple_command("GETMETADATA", "(DEPTH infinity)", TEAM, "/shared")
    assert status == "OK" and "/shared/comment" in flat(bob.untagged_responses.pop("METADATA", [])), data
    bob.logout()
    alice.logout()


def test_shared_metadata_follows_the_owners_rights(make_cluster):
    cluster = make_cluster(shared_imapc=True, users=USERS, backend_config=METADATA_AND_QUOTA)
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "dave", "lookup")
    dave = cluster.login("dave")
    status, data = set_metadata(dave, TEAM, "/shared/comment", "from dave")
    assert status == "NO", data
    dave.logout()
    alice = cluster.login("alice")
    assert "from dave" not in metadata(alice, "Team", "/shared/comment")
    # With l and r (RFC 5464 asks for one of r, s, w, i, p) it is set there.
    cluster.share("alice", "Team", "dave", "lookup read")
    dave = cluster.login("dave")
    assert set_metadata(dave, TEAM, "/shared/comment", "from dave")[0] == "OK"
    dave.logout()
    assert "from dave" in metadata(alice, "Team", "/shared/comment")
    alice.logout()


def test_getquotaroot_answers_the_owners_quota(cluster):
    alice = cluster.login("alice")
    status, (roots, quotas) = alice.getquotaroot("Team")
    assert status == "OK", roots
    usage = re.search(rb"\(STORAGE (\d+) 10240", b" ".join(quotas))
    assert usage, quotas
    alice.logout()

    bob = cluster.login("bob")
    status, (roots, quotas) = bob.getquotaroot(TEAM)
    assert status == "OK", roots
    assert roots == [b'shared/alice/Team "alice:User quota"'], roots
    assert quotas == [b'"alice:User quota" (STORAGE ' + usage.group(1) + b" 10240)"], quotas
    status, data = bob.getquota('"alice:User quota"')
    assert status == "OK" and data == quotas, data
    # bob's own folders keep imap_quota's answer about bob's quota.
    status, (roots, _) = bob.getquotaroot("INBOX")
    assert status == "OK" and roots == [b'INBOX "User quota"'], roots
    bob.logout()


def test_without_the_imap_plugin_shared_folders_work_and_the_log_says_what_is_missing(make_cluster):
    cluster = make_cluster(shared_imapc=True, imap_plugin=False)
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read")
    bob = cluster.login("bob")
    assert bob.select(TEAM, readonly=True) == ("OK", [b"5"])
    status, data = bob.thread("REFERENCES", "UTF-8", "ALL")
    assert status == "OK" and data == [b"(1)(2)(3)(4)(5)"], data
    bob.logout()
    assert cluster.backend_of("bob").wait_for_log("imap_shared_imapc is not in mail_plugins")
