"""shared_dict under Dovecot's acl plugin: two backends share one store;
an ACL set on alice's backend makes alice appear for bob in the shared
dictionary as backend B reads it, removing it makes her disappear, and the
acl plugin's rebuild leaves exactly the right keys."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from support.cluster import built_module, shared_dict_tool
from support.postgres import Postgres

MAIL_UID = 65534


def dump(store) -> dict[str, str]:
    out = subprocess.run([shared_dict_tool(), "dump", store], capture_output=True, text=True, check=True).stdout
    return dict(line.split("\t", 1) for line in out.splitlines())


@pytest.fixture(params=["directory", "pgsql"])
def acl_cluster(make_cluster, request):
    """A cluster whose backends share one shared_dict store: a directory,
    or a PostgreSQL database."""
    if request.param == "pgsql":
        pg = Postgres().start()
        request.addfinalizer(pg.remove)
        store = f"pgsql:{pg.conninfo}"
    else:
        # The mail processes run as the mail user: the store belongs to it.
        directory = Path(tempfile.mkdtemp(prefix="sic-dict-"))
        os.chown(directory, MAIL_UID, MAIL_UID)
        request.addfinalizer(lambda: shutil.rmtree(directory))
        store = str(directory)
    config = f"""
plugin {{
  acl = vfile
  acl_shared_dict = shared_dict:{store}
}}
# Bob's backend opens alice's folders from the shared filesystem: only to
# show what the acl plugin on backend B reads from the shared dictionary.
namespace shared {{
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:%%h/Maildir:INDEXPVT=~/shared/%%u
  subscriptions = no
  list = children
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""
    cluster = make_cluster(backend_config=config, plugins=("acl", "shared_imapc"), shared_filesystem=True)
    imap = cluster.login("alice")
    imap.create("Team")
    imap.create("Private")
    imap.logout()
    return cluster, store


def shared_folders(cluster, user):
    imap = cluster.login(user)
    status, lines = imap.list('""', "shared/*")
    imap.logout()
    assert status == "OK"
    return sorted(line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if line)


def test_acl_changes_on_one_backend_are_seen_by_the_other(acl_cluster):
    cluster, store = acl_cluster
    alice_backend, bob_backend = cluster.backend_of("alice"), cluster.backend_of("bob")
    assert alice_backend is not bob_backend
    assert shared_folders(cluster, "bob") == []

    alice_backend.doveadm("acl", "set", "-u", "alice", "Team", "user=bob", "lookup", "read")
    assert dump(store).get("shared/shared-boxes/user/bob/alice") == "1"
    assert shared_folders(cluster, "bob") == ["shared/alice", "shared/alice/Team"]
    assert shared_folders(cluster, "carol") == []

    alice_backend.doveadm("acl", "delete", "-u", "alice", "Team", "user=bob")
    assert "shared/shared-boxes/user/bob/alice" not in dump(store)
    assert shared_folders(cluster, "bob") == []
    assert cluster.problems() == {}


def test_rebuild_leaves_exactly_the_right_keys(acl_cluster):
    cluster, store = acl_cluster
    alice_backend = cluster.backend_of("alice")
    alice_backend.doveadm("acl", "set", "-u", "alice", "Team", "user=bob", "lookup", "read")
    alice_backend.doveadm("acl", "set", "-u", "alice", "Private", "user=carol", "lookup")
    alice_backend.doveadm("acl", "set", "-u", "alice", "Team", "anyone", "lookup")
    assert {k for k in dump(store) if k.startswith("shared/shared-boxes/")} == {
        "shared/shared-boxes/user/bob/alice",
        "shared/shared-boxes/user/carol/alice",
        "shared/shared-boxes/anyone/alice",
    }

    # Take carol's and anyone's rights away behind the dictionary's back,
    # then let the acl plugin rebuild alice's entries.
    acl_file = cluster.home("alice") / "Maildir" / ".Private" / "dovecot-acl"
    acl_file.write_text("")
    team_acl = cluster.home("alice") / "Maildir" / ".Team" / "dovecot-acl"
    team_acl.write_text("user=bob lr\n")
    alice_backend.doveadm("acl", "recalc", "-u", "alice")
    assert {k for k in dump(store) if k.startswith("shared/shared-boxes/")} == {"shared/shared-boxes/user/bob/alice"}
    assert cluster.problems() == {}


DICT_MODULE_DIR = Path("/usr/lib/dovecot/modules/dict")


def test_dict_server_serves_shared_dict_for_proxy_setups(make_cluster):
    """`acl_shared_dict = proxy::shares` with `dict { shares = shared_dict:… }`:
    Dovecot's dict server loads the module from <moduledir>/dict, a path
    compiled into Dovecot, so this test links the built module there for its
    duration (never over an installed one)."""
    link = DICT_MODULE_DIR / "lib30_shared_imapc_plugin.so"
    if link.exists() and not link.is_symlink():
        pytest.skip(f"{link} is installed; not replacing it")
    DICT_MODULE_DIR.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(built_module())
    store = Path(tempfile.mkdtemp(prefix="sic-dict-"))
    os.chown(store, MAIL_UID, MAIL_UID)
    try:
        config = f"""
dict {{
  shares = shared_dict:{store}
}}
service dict {{
  unix_listener dict {{
    mode = 0666
  }}
  user = nobody
}}
plugin {{
  acl = vfile
  acl_shared_dict = proxy::shares
}}
"""
        cluster = make_cluster(backends=1, backend_config=config, plugins=("acl", "shared_imapc"))
        imap = cluster.login("alice")
        imap.create("Team")
        imap.logout()
        backend = cluster.backends[0]
        backend.doveadm("acl", "set", "-u", "alice", "Team", "user=bob", "lookup", "read")
        assert dump(str(store)).get("shared/shared-boxes/user/bob/alice") == "1"
        assert cluster.problems() == {}
    finally:
        link.unlink()
        shutil.rmtree(store)
