"""shared_imapc behind a Dovecot 2.3 director ring instead of a proxy: the
directors hash the name logged in as, the owner's for a master login, so
bob's master-user session reaches alice's folders on the backend the ring
assigned to alice."""

from support.cluster import seed_team_folder


def subjects(imap) -> list[bytes]:
    status, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK", data
    return [item[1].strip() for item in data if isinstance(item, tuple)]


def test_bob_reads_alices_folder_through_a_director_ring(make_cluster):
    cluster = make_cluster(shared_imapc=True, directors=2)
    seed_team_folder(cluster, count=3)
    cluster.share("alice", "Team", "bob", "lookup read")
    alice = cluster.login("alice")
    alice.select("Team", readonly=True)
    owners_view = subjects(alice)
    alice.logout()

    # bob comes in through the other director; his backend's plugin logs in
    # through the first one (shared_imapc_host).
    bob = cluster.directors[1].connect()
    bob.login("bob", cluster.password("bob"))
    status, listed = bob.list('""', "shared/*")
    assert status == "OK" and any(line.endswith(b" shared/alice/Team") for line in listed), listed
    status, exists = bob.select('"shared/alice/Team"', readonly=True)
    assert status == "OK" and exists == [b"3"], exists
    assert subjects(bob) == owners_view
    bob.logout()

    # The first director proxied bob's master login as alice to the backend
    # the ring assigned to alice.
    proxied = cluster.directors[0].wait_for_log("(master bob)")
    assert "proxy(alice," in proxied and f"<{cluster.director_host('alice')}>" in proxied, proxied
    assert cluster.problems() == {}
