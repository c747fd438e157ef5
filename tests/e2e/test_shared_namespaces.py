"""Settings per namespace: two shared namespaces in one dovecot.conf reach
two separate clusters (own proxy, own master secret) in one session."""

from support.cluster import DEFAULT_USERS, Cluster, User, seed_team_folder, shared_imapc_namespace


def test_two_namespaces_reach_two_clusters_in_one_session(make_cluster, request):
    partner = Cluster(users=[User("erin", "erin-pw")], homes={"erin": 0}, backends=1,
                      shared_imapc=True, master_password="partner-secret-91c2").start()
    request.addfinalizer(partner.remove)
    seed_team_folder(partner, owner="erin", folder="Board", count=3)
    partner.share("erin", "Board", "bob", "lookup read")

    # erin must be known to the home cluster's userdb too (the shared
    # storage looks owners up); her mail lives only on the partner's side.
    config = f"""
{shared_imapc_namespace("partner")}
plugin {{
  shared_imapc_namespace2 = partner/*
  shared_imapc_port2 = {partner.proxy.port}
  shared_imapc_password2 = {partner.master_password}
}}
"""
    home = make_cluster(shared_imapc=True, users=DEFAULT_USERS + [User("erin", "x")], backend_config=config)
    seed_team_folder(home)
    home.share("alice", "Team", "bob", "lookup read")

    bob = home.login("bob")
    assert bob.select('"shared/alice/Team"', readonly=True) == ("OK", [b"5"])
    assert bob.status('"partner/erin/Board"', "(MESSAGES)") == ("OK", [b"partner/erin/Board (MESSAGES 3)"])
    assert bob.select('"partner/erin/Board"', readonly=True) == ("OK", [b"3"])
    status, data = bob.fetch("1", "(BODY.PEEK[HEADER.FIELDS (FROM)])")
    assert status == "OK" and b"erin@example.net" in data[0][1]
    assert bob.select('"shared/alice/Team"', readonly=True) == ("OK", [b"5"])
    bob.logout()
    # Each cluster saw bob's master login for its own owner only.
    assert "proxy(erin," in partner.proxy.log() and "proxy(alice," not in partner.proxy.log()
    assert "(master bob)" in home.proxy.log() and "proxy(erin," not in home.proxy.log()
