"""The demo: a local loopback cluster (a proxy, two backends) with
shared_imapc and shared_dict, where alice (backend A) shares a folder with
bob (backend B). Prints a scripted session of bob reading it through the
proxy, then leaves the cluster running for any IMAP client.

    python3 tests/support/demo.py start --dir demo-data [--port 10143] [--module PATH]
    python3 tests/support/demo.py stop --dir demo-data
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.cluster import Cluster, User, seed_rich_folder, stop_saved  # noqa: E402

DEMO_USERS = [User("alice", "alice-pw"), User("bob", "bob-pw"), User("carol", "carol-pw")]
# alice and carol live on backend A, bob on backend B.
DEMO_HOMES = {"alice": 0, "bob": 1, "carol": 0}


def start(root: Path, port: int) -> None:
    stop_saved(root)
    shutil.rmtree(root, ignore_errors=True)
    # Fixed ports, so a mail client set up once works after a restart.
    cluster = Cluster(root=root, users=DEMO_USERS, homes=DEMO_HOMES, shared_imapc=True, first_port=port)
    cluster.start()
    cluster.save_description()
    seed_rich_folder(cluster, owner="alice", folder="Projects")
    cluster.share("alice", "Projects", "bob", "lookup read")
    show_session(cluster)
    print_instructions(cluster, root, port)


def show(command: str, result, prefix: str = "", suffix: str = "") -> None:
    """Prints a command and imaplib's answer to it, IMAP style."""
    status, data = result
    print(f"  C: {command}")
    for item in data:
        text = item[0] if isinstance(item, tuple) else item
        if text and status == "OK":
            print(f"  S: * {prefix}{text.decode(errors='replace')[:100]}{suffix}")
    tagged = "" if status == "OK" else " " + data[0].decode(errors="replace")
    print(f"  S: {status}{tagged}")


def show_session(cluster: Cluster) -> None:
    """bob, on backend B, reads alice's folder on backend A through the
    proxy; printed as it runs."""
    print("alice (backend A) shares Projects with bob (backend B): doveadm acl set, written to shared_dict.")
    print("A scripted session as bob, through the proxy:")
    bob = cluster.login("bob")
    show('LIST "" "shared/*"', bob.list('""', "shared/*"), "LIST ")
    show("EXAMINE shared/alice/Projects", bob.select('"shared/alice/Projects"', readonly=True), suffix=" EXISTS")
    show("FETCH 1:3 (FLAGS ENVELOPE)", bob.fetch("1:3", "(FLAGS ENVELOPE)"))
    show("SEARCH BODY budget", bob.search(None, "BODY", "budget"), "SEARCH ")
    show("SORT (SUBJECT) UTF-8 ALL", bob.sort("(SUBJECT)", "UTF-8", "ALL"), "SORT ")
    show("THREAD REFERENCES UTF-8 ALL", bob.thread("REFERENCES", "UTF-8", "ALL"), "THREAD ")
    status, _ = bob._simple_command("MYRIGHTS", '"shared/alice/Projects"')
    show("MYRIGHTS shared/alice/Projects", (status, bob.untagged_responses.pop("MYRIGHTS", [])), "MYRIGHTS ")
    bob.logout()
    carol = cluster.login("carol")
    show("(as carol, who has no rights) EXAMINE shared/alice/Projects",
         carol.select('"shared/alice/Projects"', readonly=True))
    carol.logout()
    problems = cluster.problems()
    print("  Dovecot logs: no errors" if not problems else f"  Dovecot logged errors: {problems}")
    print()


def print_instructions(cluster: Cluster, root: Path, wanted_port: int) -> None:
    port = cluster.proxy.port
    instances = [cluster.proxy, *cluster.backends]
    moved = [f"{i.name} on {i.port} ({wanted_port + n} was taken)" for n, i in enumerate(instances) if i.port != wanted_port + n]
    if moved:
        print("Ports in use elsewhere, so free ones were taken: " + ", ".join(moved))
    users = ", ".join(f"{u.name}/{u.password} (on {cluster.backend_of(u.name).name})" for u in cluster.users)
    print(f"""The demo cluster is running (data and logs in {root}):
  proxy     127.0.0.1:{port}  (IMAP, plain text on loopback)
  backends  {', '.join(f'{b.name} 127.0.0.1:{b.port}' for b in cluster.backends)}
  users     {users}
  master    any user can be the master user with password {cluster.master_password}

Connect any IMAP client to 127.0.0.1 port {port} as bob to read shared/alice/Projects, for example:
  python3 -c "import imaplib; m = imaplib.IMAP4('127.0.0.1', {port}); m.login('bob', 'bob-pw'); print(m.list('\\"\\"', 'shared/*'))"
  nc 127.0.0.1 {port}        (then: a LOGIN bob bob-pw)
Logs: {root}/<instance>/dovecot.log   Description: {root}/cluster.json
Stop it with: make demo-stop""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, default=Path("demo-data"))
    parser.add_argument("--module", type=Path, help="the built libshared_imapc.so")
    parser.add_argument("--port", type=int, default=10143,
                        help="the proxy's port, the backends' after it (free ones when taken)")
    args = parser.parse_args()
    root = args.dir.resolve()
    if args.module:
        os.environ["SHARED_IMAPC_MODULE"] = str(args.module.resolve())
    if args.action == "start":
        start(root, args.port)
    else:
        stop_saved(root)
        print(f"demo cluster under {root} stopped")


if __name__ == "__main__":
    main()
