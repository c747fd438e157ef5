"""The owner's server reached over TLS (imaps and STARTTLS to the proxy),
from inside Dovecot's imap processes: the certificate checked against the
configured CA, and a NO with the reason when it cannot be trusted."""

import pytest

from support.cluster import Cluster, seed_team_folder


def tls_cluster(request, ssl, trusted=True, extra=""):
    cluster = Cluster(shared_imapc=True, tls=True)
    request.node.sic_clusters = getattr(request.node, "sic_clusters", []) + [cluster]
    request.addfinalizer(cluster.remove)
    port = cluster.proxy.imaps_port if ssl == "imaps" else cluster.proxy.port
    ca = f"shared_imapc_ssl_ca_file = {cluster.ca_file}" if trusted else ""
    for backend in cluster.backends:
        backend.config += f"""
plugin {{
  shared_imapc_ssl = {ssl}
  shared_imapc_port = {port}
  {ca}
}}
{extra}"""
    cluster.start()
    seed_team_folder(cluster)
    cluster.share("alice", "Team", "bob", "lookup read")
    return cluster


@pytest.mark.parametrize("ssl", ["imaps", "starttls"])
def test_bob_reads_alices_folder_over_tls(request, ssl):
    cluster = tls_cluster(request, ssl)
    bob = cluster.login("bob")
    assert bob.select('"shared/alice/Team"', readonly=True) == ("OK", [b"5"])
    ours = bob.fetch("1:*", "(ENVELOPE)")
    alice = cluster.login("alice")
    alice.select("Team", readonly=True)
    assert ours == alice.fetch("1:*", "(ENVELOPE)")
    bob.logout()
    alice.logout()
    # The proxy logged bob's master login for alice as one over TLS.
    logins = [line for line in cluster.proxy.log().splitlines() if "(master bob)" in line]
    assert logins and all("TLS" in line for line in logins), logins
    assert cluster.problems() == {}


def test_an_untrusted_certificate_is_a_no_and_the_log_says_why(request):
    # Only the system's CAs: the test CA is not among them.
    cluster = tls_cluster(request, "imaps", trusted=False)
    bob = cluster.login("bob")
    status, data = bob.select('"shared/alice/Team"', readonly=True)
    assert status == "NO" and data[0].startswith(b"[UNAVAILABLE] alice's server is unavailable"), data
    # The user is not told where the server is; the administrator is.
    line = cluster.backend_of("bob").wait_for_log("certificate verification failed")
    assert f"127.0.0.1:{cluster.proxy.imaps_port}" in line and "UnknownIssuer" in line, line
    # The session goes on.
    assert bob.select("INBOX")[0] == "OK"
    bob.logout()


@pytest.mark.parametrize("ssl", ["imaps", "starttls"])
def test_idle_hears_alices_new_mail_over_tls(request, ssl):
    # Only a push can deliver within the wait: the check interval is far
    # above it. Updates may sit decrypted in the TLS layer, where the
    # socket no longer shows them.
    cluster = tls_cluster(request, ssl, extra="mailbox_idle_check_interval = 10 mins\n")
    bob = cluster.login("bob")
    bob.select('"shared/alice/Team"', readonly=True)
    tag = bob._new_tag()
    bob.send(tag + b" IDLE\r\n")
    assert bob.readline().startswith(b"+")
    alice = cluster.login("alice")
    for n in (6, 7):
        alice.append("Team", None, None, b"Subject: during idle\r\n\r\nhi\r\n")
        bob.sock.settimeout(20)
        while not (line := bob.readline()).endswith(b" EXISTS\r\n"):
            assert line
        assert line == b"* %d EXISTS\r\n" % n, line
    alice.logout()
    bob.send(b"DONE\r\n")
    while not (line := bob.readline()).startswith(tag):
        assert line
    assert line.startswith(tag + b" OK"), line
    bob.logout()
    assert cluster.master_logins("bob", 1) == 1
    assert cluster.problems() == {}
