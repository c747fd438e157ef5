"""`shared-dict import-file` and `import-fs` move a cluster's shares over
from Dovecot's own `file` and `fs:posix` dictionaries without losing any."""

import subprocess

from support.cluster import shared_dict_tool

KEYS = {
    "shared/shared-boxes/user/bob/alice": "1",
    "shared/shared-boxes/group/staff/carol": "1",
    "shared/shared-boxes/anyone/dave": "1",
    "shared/odd value": "tab\there",
}


def doveadm_dict_set(tmp_path, uri, key, value):
    conf = tmp_path / "doveadm.conf"
    conf.write_text(f"base_dir = {tmp_path / 'run'}\n")
    subprocess.run(["doveadm", "-c", conf, "dict", "set", uri, key, value], check=True, capture_output=True)


def tool(*args):
    return subprocess.run([shared_dict_tool(), *map(str, args)], capture_output=True, text=True, check=True).stdout


def dumped(store):
    return dict(line.split("\t", 1) for line in tool("dump", store).splitlines())


def test_import_from_dovecot_file_dict(tmp_path):
    source = tmp_path / "shares.dict"
    for key, value in KEYS.items():
        doveadm_dict_set(tmp_path, f"file:{source}", key, value)
    store = tmp_path / "store"
    store.mkdir()
    assert "imported 4 keys" in tool("import-file", store, source)
    assert dumped(store) == KEYS
    assert tool("check", store).startswith("ok: ")


def test_import_from_dovecot_fs_posix_dict(tmp_path):
    source = tmp_path / "fs"
    source.mkdir()
    for key, value in KEYS.items():
        doveadm_dict_set(tmp_path, f"fs:posix:prefix={source}/", key, value)
    store = tmp_path / "store"
    store.mkdir()
    assert "imported 4 keys" in tool("import-fs", store, source)
    assert dumped(store) == KEYS
