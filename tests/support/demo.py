"""The demo: a local loopback cluster (a proxy, two backends) with
shared_imapc loaded, left running for any IMAP client.

    python3 tests/support/demo.py start --dir demo-data [--module PATH]
    python3 tests/support/demo.py stop --dir demo-data
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.cluster import Cluster, User, stop_saved  # noqa: E402

DEMO_USERS = [User("alice", "alice-pw"), User("bob", "bob-pw"), User("carol", "carol-pw")]
# alice and carol live on backend A, bob on backend B.
DEMO_HOMES = {"alice": 0, "bob": 1, "carol": 0}


def start(root: Path) -> None:
    stop_saved(root)
    shutil.rmtree(root, ignore_errors=True)
    cluster = Cluster(root=root, users=DEMO_USERS, homes=DEMO_HOMES)
    for backend in cluster.backends:
        backend.config += f"""
plugin {{
  shared_imapc_host = 127.0.0.1
  shared_imapc_port = {cluster.proxy.port}
  shared_imapc_master_user = %u
  shared_imapc_password = {cluster.master_password}
}}
"""
    cluster.start()
    cluster.save_description()
    show_session(cluster)
    print_instructions(cluster, root)


def show_session(cluster: Cluster) -> None:
    """A short scripted session through the proxy, printed as it runs."""
    print("A scripted session as alice, through the proxy:")
    imap = cluster.login("alice")
    imap.create("Projects")
    imap.append("Projects", None, None, b"From: alice@example.net\r\nSubject: Plan\r\n\r\nThe plan.\r\n")
    for line in imap.list()[1]:
        print(f"  * LIST {line.decode()}")
    imap.select("Projects")
    typ, data = imap.fetch("1", "(ENVELOPE)")
    print(f"  * FETCH {data[0].decode()}")
    imap.logout()
    problems = cluster.problems()
    print("  Dovecot logs: no errors" if not problems else f"  Dovecot logged errors: {problems}")
    print()


def print_instructions(cluster: Cluster, root: Path) -> None:
    port = cluster.proxy.port
    users = ", ".join(f"{u.name}/{u.password} (on {cluster.backend_of(u.name).name})" for u in cluster.users)
    print(f"""The demo cluster is running (data and logs in {root}):
  proxy     127.0.0.1:{port}  (IMAP, plain text on loopback)
  backends  {', '.join(f'{b.name} 127.0.0.1:{b.port}' for b in cluster.backends)}
  users     {users}
  master    any user can be the master user with password {cluster.master_password}

Connect any IMAP client to 127.0.0.1 port {port}, for example:
  python3 -c "import imaplib; m = imaplib.IMAP4('127.0.0.1', {port}); m.login('bob', 'bob-pw'); print(m.list())"
  nc 127.0.0.1 {port}        (then: a LOGIN bob bob-pw)
Logs: {root}/<instance>/dovecot.log   Description: {root}/cluster.json
Stop it with: make demo-stop""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, default=Path("demo-data"))
    parser.add_argument("--module", type=Path, help="the built libshared_imapc.so")
    args = parser.parse_args()
    root = args.dir.resolve()
    if args.module:
        os.environ["SHARED_IMAPC_MODULE"] = str(args.module.resolve())
    if args.action == "start":
        start(root)
    else:
        stop_saved(root)
        print(f"demo cluster under {root} stopped")


if __name__ == "__main__":
    main()
