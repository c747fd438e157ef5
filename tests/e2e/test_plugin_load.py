"""Dovecot loads shared_imapc from the build directory, and a user session
through the proxy works with it, with its settings checked at login."""

import imaplib

import pytest

GOOD_SETTINGS = """
plugin {
  shared_imapc_host = 127.0.0.1
  shared_imapc_master_user = %u
  shared_imapc_password = Sup3r-Secret-Value
  shared_imapc_command_timeout = 30s
}
"""


def test_module_loads_and_folders_list_through_proxy(make_cluster):
    cluster = make_cluster(backend_config=GOOD_SETTINGS, mail_debug=True)
    imap = cluster.login("bob")
    assert imap.create("Projects")[0] == "OK"
    status, folders = imap.list()
    imap.logout()

    assert status == "OK"
    names = [line.decode().rsplit(" ", 1)[-1].strip('"') for line in folders]
    assert sorted(names) == ["INBOX", "Projects"]
    bob_backend = cluster.backend_of("bob")
    assert "Module loaded: " in bob_backend.log() and "lib30_shared_imapc_plugin.so" in bob_backend.log()
    assert cluster.problems() == {}


def test_module_without_any_setting_leaves_sessions_working(make_cluster):
    cluster = make_cluster(backends=1)
    imap = cluster.login("bob")
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()
    assert cluster.problems() == {}


def test_mail_debug_logs_effective_settings_with_password_masked(make_cluster):
    cluster = make_cluster(backend_config=GOOD_SETTINGS, mail_debug=True)
    cluster.login("bob").logout()

    backend = cluster.backend_of("bob")
    backend.wait_for_log("imap(bob)<")
    log = backend.log()
    settings_lines = [line for line in log.splitlines() if "shared_imapc: settings:" in line]
    assert len(settings_lines) == 1, log
    line = settings_lines[0]
    assert "imap(bob)" in line
    assert "host=127.0.0.1" in line and "master_user=bob" in line and "command_timeout=30s" in line
    assert "password=(hidden)" in line
    assert all("Sup3r-Secret-Value" not in i.log() for i in cluster.instances)


@pytest.mark.parametrize(
    "setting, expected",
    [
        ("shared_imapc_hots = proxy.example.net",
         "shared_imapc_hots=proxy.example.net: unknown setting (did you mean shared_imapc_host?)"),
        ("shared_imapc_port = 99999", "shared_imapc_port=99999: must be a port number 1-65535"),
        ("shared_imapc_ssl = tls", "shared_imapc_ssl=tls: must be one of: no, imaps, starttls"),
        ("shared_imapc_host2 = other-proxy", "shared_imapc_namespace2 is not set"),
    ],
)
def test_bad_setting_fails_the_session_with_a_clear_error(make_cluster, setting, expected):
    cluster = make_cluster(backends=1, backend_config=f"plugin {{\n  {setting}\n}}\n")

    with pytest.raises((imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError)):
        imap = cluster.login("bob")
        imap.list()

    line = cluster.backends[0].wait_for_log(expected)
    assert "Error: shared_imapc: invalid settings for user bob: " in line


def test_bad_password_setting_is_reported_without_the_password(make_cluster):
    config = "plugin {\n  shared_imapc_password = Not-In-Logs-42\n  shared_imapc_password_file = /etc/x\n}\n"
    cluster = make_cluster(backends=1, backend_config=config)
    with pytest.raises((imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError)):
        cluster.login("bob").list()
    backend = cluster.backends[0]
    line = backend.wait_for_log("shared_imapc_password_file=/etc/x")
    assert "Error:" in line and "shared_imapc_password is set too" in line
    assert "Not-In-Logs-42" not in backend.log()
