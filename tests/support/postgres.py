"""A throw-away PostgreSQL server on 127.0.0.1, from Debian's `postgresql`
package, for the shared_dict PostgreSQL tests.

    python3 tests/support/postgres.py serve   # prints conninfo=..., ready; stops on EOF
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.cluster import free_port  # noqa: E402

PG_USER = "postgres"


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found: install the postgresql package")
    return found[-1]


class Postgres:
    """initdb + pg_ctl as the postgres user, trust auth on loopback only."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="sic-pg-"))
        os.chmod(self.root, 0o755)
        shutil.chown(self.root, PG_USER, PG_USER)
        self.data = self.root / "data"
        self.port = free_port()

    def _as_postgres(self, *args: str) -> None:
        # The server keeps inherited descriptors open: give it a file, not a pipe.
        with tempfile.TemporaryFile("w+") as output:
            run = subprocess.run(["runuser", "-u", PG_USER, "--", *args], stdin=subprocess.DEVNULL,
                                 stdout=output, stderr=output, timeout=120)
            if run.returncode != 0:
                output.seek(0)
                raise RuntimeError(f"{' '.join(args)} failed:\n{output.read()}")

    def start(self) -> "Postgres":
        self._as_postgres(pg_bin("initdb"), "-D", str(self.data), "--auth=trust", "-U", PG_USER, "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                          "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        except RuntimeError:
            pass

    def restart(self) -> None:
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "restart")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} dbname=postgres user={PG_USER}"


def serve() -> None:
    pg = Postgres()
    try:
        pg.start()
        print(f"conninfo={pg.conninfo}")
        print(f"data={pg.data}")
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() == "restart":
                pg.restart()
                print("restarted", flush=True)
    finally:
        pg.remove()


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: postgres.py serve")
    serve()
