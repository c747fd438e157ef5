"""Real Dovecot instances on loopback, for the tests and the demo.

A `Dovecot` is one instance with its own directory (config, base_dir,
state_dir, log, homes), its own IMAP port and its own pid. A `Cluster` is a
proxy in front of backends: the proxy's passdb sends each user to the backend
that user lives on (`proxy=y host=... port=...`), and the proxy and every
backend accept the master secret (`user*master` or a SASL authzid), as a
production cluster does.

Everything runs as root on loopback addresses and needs the Debian packages
dovecot-core and dovecot-imapd. The shared_imapc module is loaded from the
build directory through `mail_plugin_dir`.
"""

from __future__ import annotations

import imaplib
import json
import os
import pwd
import random
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SYSTEM_MODULE_DIR = Path("/usr/lib/dovecot/modules")
MODULE_FILE = "lib30_shared_imapc_plugin.so"
IMAP_MODULE_FILE = "lib95_imap_shared_imapc_plugin.so"
MASTER_PASSWORD = "master-secret-7f3a"
MAIL_USER = "nobody"
MAIL_GROUP = "nogroup"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


def built_module() -> Path:
    """The module cargo built: $SHARED_IMAPC_MODULE, else target/debug."""
    path = Path(os.environ.get("SHARED_IMAPC_MODULE", REPO / "target/debug/libshared_imapc.so")).resolve()
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: run `cargo build` first")
    return path


def built_imap_module() -> Path:
    """The imap plugin module build.rs linked: $SHARED_IMAPC_IMAP_MODULE,
    else next to the main module (target/<profile>/)."""
    default = built_module().parent / IMAP_MODULE_FILE
    path = Path(os.environ.get("SHARED_IMAPC_IMAP_MODULE", default)).resolve()
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: run `cargo build` first")
    return path


_ports_given: set[int] = set()
_port_choice = random.Random()


def free_port(address: str = "127.0.0.1") -> int:
    """A port nothing listens on, below the kernel's ephemeral range (a
    port the kernel hands out, to an outgoing connection or a scripted
    server binding port 0, could be taken between this choice and Dovecot's
    bind), and not given before in this run (nothing listens yet on the
    ports a cluster was just given)."""
    first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(1000):
        port = _port_choice.randrange(20000, max(first_ephemeral, 20001))
        if port in _ports_given:
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((address, port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError(f"no free port on {address} below {first_ephemeral}")


def port_or_free(preferred: int | None, address: str = "127.0.0.1") -> int:
    """`preferred` when nothing listens there (a port left in TIME_WAIT is
    free for Dovecot, which binds with SO_REUSEADDR), else a free one."""
    if preferred is None:
        return free_port(address)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, preferred))
            return preferred
        except OSError:
            return free_port(address)


def wait_for_port(port: int, timeout: float, address: str = "127.0.0.1") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@dataclass
class User:
    name: str
    password: str
    groups: list[str] = field(default_factory=list)


DEFAULT_USERS = [User("alice", "alice-pw"), User("bob", "bob-pw"), User("carol", "carol-pw")]

LOG_PROBLEMS = ("Error:", "Fatal:", "Panic:")


def shared_imapc_namespace(name: str) -> str:
    """A shared namespace `<name>/<owner>/` on shared_imapc, as documented."""
    return f"""namespace {name} {{
  type = shared
  separator = /
  prefix = {name}/%%u/
  location = shared_imapc:~/{name}/%%u
  subscriptions = no
  list = children
}}"""


class Dovecot:
    """One Dovecot instance on a loopback address."""

    def __init__(self, root: Path, name: str, address: str = "127.0.0.1", port: int | None = None):
        self.name = name
        self.dir = root / name
        # Any 127.0.0.0/8 address works on Linux: a director ring tells its
        # members and backends apart by address.
        self.address = address
        self.port = port or free_port(address)
        self.base_dir = self.dir / "run"
        self.conf = self.dir / "dovecot.conf"
        self.log_path = self.dir / "dovecot.log"
        # The instance's own part of dovecot.conf, after common_config().
        self.config = ""
        # (cert, key) files: TLS on, with an imaps listener and STARTTLS.
        self.tls: tuple[Path, Path] | None = None
        self.imaps_port = 0
        self.pid: int | None = None
        # Where problems() starts reading the log (past expected start-up lines).
        self.problems_from = 0

    def common_config(self) -> str:
        return f"""
instance_name = sic-{self.name}
base_dir = {self.base_dir}
state_dir = {self.dir / "state"}
log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}
protocols = imap
listen = {self.address}
{self._ssl_config()}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
first_valid_gid = 1
shutdown_clients = yes
service imap-login {{
  inet_listener imap {{
    address = {self.address}
    port = {self.port}
  }}
  inet_listener imaps {{
    # 127.0.0.2 too: an address the test certificate does not name.
    address = 127.0.0.1 127.0.0.2
    port = {self.imaps_port}
  }}
}}
"""

    def enable_tls(self, cert: Path, key: Path) -> None:
        self.tls = (cert, key)
        self.imaps_port = free_port()

    def _ssl_config(self) -> str:
        if self.tls is None:
            return "ssl = no"
        cert, key = self.tls
        return f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"

    def start(self) -> "Dovecot":
        for d in (self.dir, self.base_dir, self.dir / "state"):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        self.conf.write_text(self.common_config() + self.config)
        self.log_path.touch()
        # The daemon keeps inherited descriptors open: give it a file, not a pipe.
        with tempfile.TemporaryFile("w+") as output:
            run = subprocess.run(
                ["dovecot", "-c", str(self.conf)], stdin=subprocess.DEVNULL, stdout=output, stderr=output, timeout=60
            )
            output.seek(0)
            if run.returncode != 0:
                raise RuntimeError(f"dovecot {self.name} did not start:\n{output.read()}{self.log()}")
        pid_file = self.base_dir / "master.pid"
        deadline = time.monotonic() + START_TIMEOUT
        while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not pid_file.exists() or not wait_for_port(self.port, max(0.0, deadline - time.monotonic()), self.address):
            self.stop()
            raise RuntimeError(f"dovecot {self.name} is not listening on {self.port}:\n{self.log()}")
        self.pid = int(pid_file.read_text().strip())
        return self

    def stop(self) -> None:
        self.signal_stop()
        self.wait_stopped()

    def signal_stop(self) -> None:
        """Asks the master process to shut down (SIGTERM), without waiting."""
        pid_file = self.base_dir / "master.pid"
        if self.pid is None and pid_file.exists():
            self.pid = int(pid_file.read_text().strip())
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            self.pid = None

    def wait_stopped(self) -> None:
        """Waits for the master to exit, killing its group after STOP_TIMEOUT."""
        if self.pid is None:
            return
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and _alive(self.pid):
            time.sleep(0.02)
        if _alive(self.pid):
            os.killpg(os.getpgid(self.pid), signal.SIGKILL)
        self.pid = None

    def crash(self) -> None:
        """Stops the instance and kills what outlives its master (the imap
        processes of open sessions): the server is gone, as after a crash."""
        self.stop()
        title = f"dovecot-sic-{self.name}/".encode()
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(title):
                    os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                pass

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """The first log line containing `text`, waiting for Dovecot's log
        process to write it (it does so after the client is answered)."""
        deadline = time.monotonic() + timeout
        while True:
            line = next((line for line in self.log().splitlines() if text in line), None)
            if line is not None:
                return line
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no log line with {text!r} after {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def problems(self) -> list[str]:
        """Log lines Dovecot wrote at error level or worse."""
        log = self.log()[self.problems_from:]
        return [line for line in log.splitlines() if any(p in line for p in LOG_PROBLEMS)]

    def doveadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["doveadm", "-c", str(self.conf), *args], capture_output=True, text=True, check=check)

    def connect(self) -> imaplib.IMAP4:
        return imaplib.IMAP4(self.address, self.port, timeout=30)


def make_test_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for localhost and 127.0.0.1:
    returns (ca.pem, server.pem, server.key)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    quiet = {"check": True, "capture_output": True}
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
                    "-subj", "/CN=shared_imapc test CA"], **quiet)
    subprocess.run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"], **quiet)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", cert, "-days", "2", "-extfile", ext], **quiet)
    return ca, cert, key


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Cluster:
    """A proxy and backends on loopback, with users spread over the backends.

    `homes` maps a user name to the index of the backend the user lives on
    (default: round robin). `backend_config` is appended to every backend's
    dovecot.conf (plugin settings, namespaces); `plugin=True` loads
    shared_imapc there (`mail_plugins`, `mail_plugin_dir`). `first_port`
    asks for fixed ports (the proxy on it, the backends after it), each
    falling back to a free one when taken.

    `directors=N` puts a Dovecot 2.3 director ring of N members in front
    instead of the proxy (`self.proxy` is the first of them): the directors
    choose each user's backend by hashing the name, so homes are on one
    shared filesystem, as in a real director cluster, and the backends
    listen on addresses of their own (the ring tells them apart by address).
    """

    def __init__(
        self,
        root: Path | None = None,
        backends: int = 2,
        users: list[User] | None = None,
        homes: dict[str, int] | None = None,
        backend_config: str = "",
        plugins: tuple[str, ...] = ("shared_imapc",),
        mail_debug: bool = False,
        tls: bool = False,
        shared_filesystem: bool = False,
        shared_imapc: bool = False,
        imap_plugin: bool = True,
        rawlog: bool | tuple[str, ...] = False,
        master_password: str = MASTER_PASSWORD,
        first_port: int | None = None,
        directors: int = 0,
    ):
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="sic-"))
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.users = users or list(DEFAULT_USERS)
        self.homes = homes or {u.name: i % backends for i, u in enumerate(self.users)}
        self.master_password = master_password
        self.plugins = plugins
        # Every backend's userdb names each user's real home, as if all
        # homes were on one shared filesystem (Dovecot's non-cluster setup).
        self.shared_filesystem = shared_filesystem or directors > 0
        self.module_dir = self.root / "modules"
        if directors:
            self._make_director_ring(backends, directors)
        else:
            port = (lambda n: port_or_free(first_port + n)) if first_port else (lambda n: None)
            self.directors = []
            self.backends = [
                Dovecot(self.root, f"backend{chr(ord('a') + i)}", port=port(1 + i)) for i in range(backends)
            ]
            self.proxy = Dovecot(self.root, "proxy", port=port(0))
        # The shared_dict store every backend shares (shared_imapc=True).
        self.dict_dir = self.root / "shared-dict"
        if shared_imapc:
            self.plugins = ("acl", "shared_imapc")
            backend_config = self._shared_imapc_config(imap_plugin) + backend_config
        # Every IMAP session's input and output in ~/rawlog (rawlog_dir):
        # everyone's (True) or only the named users' sessions (a tuple).
        self.rawlog = rawlog
        if rawlog is True:
            backend_config += "\nrawlog_dir = %h/rawlog\n"
        for backend in self.backends:
            backend.config = self._backend_config(backend, backend_config, mail_debug)
        for director in self.directors:
            director.config = self._director_config(director)
        if not self.directors:
            self.proxy.config = self._proxy_config()
        # Instances started after the cluster (start_imapc_node), stopped with it.
        self.extras: list[Dovecot] = []
        self.ca_file: Path | None = None
        if tls:
            self.ca_file, cert, key = make_test_ca(self.root / "tls")
            self.proxy.enable_tls(cert, key)

    # -- configuration ----------------------------------------------------

    def _mail_ids(self) -> tuple[int, int]:
        return pwd.getpwnam(MAIL_USER).pw_uid, grp.getgrnam(MAIL_GROUP).gr_gid

    def home(self, user: str, backend: Dovecot | None = None) -> Path:
        backend = backend or self.backend_of(user)
        return backend.dir / "home" / user

    def backend_of(self, user: str) -> Dovecot:
        return self.backends[self.homes[user]]

    def _write_users(self, path: Path, line_for) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line_for(u) + "\n" for u in self.users))
        os.chmod(path, 0o644)

    def _master_passdb(self) -> str:
        return f"""
passdb {{
  driver = static
  args = password={self.master_password}
  master = yes
  pass = yes
}}
"""

    def _backend_config(self, backend: Dovecot, extra: str, mail_debug: bool) -> str:
        uid, gid = self._mail_ids()
        users_file = backend.dir / "users"

        def line(u: User) -> str:
            home = self.home(u.name, None if self.shared_filesystem else backend)
            fields = [f"userdb_acl_groups={','.join(u.groups)}"] if u.groups else []
            if isinstance(self.rawlog, tuple) and u.name in self.rawlog:
                fields.append(f"userdb_rawlog_dir={home}/rawlog")
            return f"{u.name}:{{PLAIN}}{u.password}:{uid}:{gid}::{home}::" + " ".join(fields)

        self._write_users(users_file, line)
        plugin_lines = ""
        if self.plugins:
            plugin_lines = f"mail_plugin_dir = {self.module_dir}\nmail_plugins = $mail_plugins {' '.join(self.plugins)}\n"
        return f"""
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:~/Maildir
mail_debug = {"yes" if mail_debug else "no"}
{plugin_lines}
{self._master_passdb()}
passdb {{
  driver = passwd-file
  args = {users_file}
}}
userdb {{
  driver = passwd-file
  args = {users_file}
}}
{extra}
"""

    def _shared_imapc_config(self, imap_plugin: bool) -> str:
        """The documented setup: a shared namespace on shared_imapc through
        the proxy, ACLs in vfile, the shared dictionary on shared_dict, and
        the imap plugin module unless `imap_plugin` is False."""
        imap_plugins = "imap_acl imap_shared_imapc" if imap_plugin else "imap_acl"
        return f"""
namespace inbox {{
  inbox = yes
  separator = /
}}
{shared_imapc_namespace("shared")}
protocol imap {{
  mail_plugins = $mail_plugins {imap_plugins}
}}
plugin {{
  acl = vfile
  acl_shared_dict = shared_dict:{self.dict_dir}
  shared_imapc_host = {self.proxy.address}
  shared_imapc_port = {self.proxy.port}
  shared_imapc_master_user = %u
  shared_imapc_password = {self.master_password}
}}
"""

    def master_logins(self, master: str, expected: int) -> int:
        """`master`'s master logins at the proxy, once `expected` are logged
        or 5 s passed (the proxy's log line may trail its answer)."""
        deadline = time.monotonic() + 5
        while self.proxy.log().count(f"(master {master})") < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        return self.proxy.log().count(f"(master {master})")

    def remote_commands(self, user: str) -> list[str]:
        """Every command the user's backend received in `user`'s sessions
        (rawlog=True), as `NAME args`, without tags, in the order received
        (so a count taken before stays a prefix when sessions overlap)."""
        commands = []
        for path in (self.home(user) / "rawlog").glob("*.in"):
            for line in path.read_bytes().split(b"\n"):
                # "<timestamp> <tag> <command …>"
                parts = line.decode(errors="replace").rstrip("\r").split(" ", 2)
                if len(parts) == 3 and parts[2]:
                    commands.append((float(parts[0]), path.name, parts[2]))
        return [command for *_, command in sorted(commands)]

    def share(self, owner: str, folder: str, viewer: str, rights: str) -> None:
        """Gives `viewer` `rights` on `owner`'s folder, on the owner's backend."""
        self.backend_of(owner).doveadm("acl", "set", "-u", owner, folder, f"user={viewer}", *rights.split())

    def _proxy_config(self) -> str:
        users_file = self.proxy.dir / "users"

        def line(u: User) -> str:
            backend = self.backend_of(u.name)
            return f"{u.name}:{{PLAIN}}{u.password}::::::proxy=y host=127.0.0.1 port={backend.port}"

        self._write_users(users_file, line)
        return f"""
# A backend that is down is reported at once (tests stop backends).
login_proxy_max_reconnects = 0
# The backends' shared_imapc passes on its users' addresses (ID).
login_trusted_networks = 127.0.0.0/8
{self._master_passdb()}
passdb {{
  driver = passwd-file
  args = {users_file}
}}
userdb {{
  driver = static
  args = uid={MAIL_USER} gid={MAIL_GROUP} home=/nonexistent
}}
"""

    def _make_director_ring(self, backends: int, directors: int) -> None:
        """Directors on 127.0.0.11…, backends on 127.0.0.21…: one IMAP port
        for all backends (the directors proxy to the address they choose),
        one for all directors, and one for the ring."""
        backend_port, director_port, self.ring_port = free_port(), free_port(), free_port()
        self.backends = [
            Dovecot(self.root, f"backend{chr(ord('a') + i)}", f"127.0.0.{21 + i}", backend_port)
            for i in range(backends)
        ]
        self.directors = [
            Dovecot(self.root, f"director{i + 1}", f"127.0.0.{11 + i}", director_port) for i in range(directors)
        ]
        self.proxy = self.directors[0]

    def _director_config(self, director: Dovecot) -> str:
        """One ring member: the master passdb first (a master login as
        `alice*bob` is checked here and again on the backend), then every
        user proxied without a password check to the backend the ring
        chose by hashing the login name, the owner's for a master login."""
        ring = " ".join(f"{d.address}:{self.ring_port}" for d in self.directors)
        return f"""
login_trusted_networks = 127.0.0.0/8
login_proxy_max_reconnects = 0
director_servers = {ring}
director_mail_servers = {" ".join(b.address for b in self.backends)}
director_username_hash = %Lu
service director {{
  unix_listener login/director {{
    mode = 0666
  }}
  fifo_listener login/proxy-notify {{
    mode = 0666
  }}
  unix_listener director-userdb {{
    mode = 0600
  }}
  inet_listener {{
    address = {director.address}
    port = {self.ring_port}
  }}
}}
service imap-login {{
  executable = imap-login director
}}
{self._master_passdb()}
passdb {{
  driver = static
  args = proxy=y nopassword=y port={self.backends[0].port}
}}
userdb {{
  driver = static
  args = uid={MAIL_USER} gid={MAIL_GROUP} home=/nonexistent
}}
"""

    def _wait_for_ring(self) -> None:
        """Waits until every director has connected to the ring. The first
        ones started could not reach the others yet and logged that as an
        error, which is no problem of the tests'."""
        for director in self.directors:
            director.wait_for_log("Handshake finished")
            director.problems_from = len(director.log())

    def director_host(self, user: str, director: Dovecot | None = None) -> str:
        """The backend address the ring assigned `user` to ('' if none yet)."""
        out = (director or self.proxy).doveadm("director", "status", user).stdout
        # "Current: 127.0.0.21 (expires …)"
        return next((line.split()[1] for line in out.splitlines() if line.startswith("Current:")), "")

    def _prepare_module_dir(self) -> None:
        """mail_plugin_dir is the only directory plugins load from, so it
        holds the system modules (symlinked) and the built shared_imapc
        modules (the mail plugin and the imap plugin)."""
        self.module_dir.mkdir(exist_ok=True)
        for module in SYSTEM_MODULE_DIR.glob("lib*.so"):
            link = self.module_dir / module.name
            if not link.exists():
                link.symlink_to(module)
        for name, built in ((MODULE_FILE, built_module()), (IMAP_MODULE_FILE, built_imap_module())):
            link = self.module_dir / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(built)

    def _prepare_homes(self) -> None:
        uid, gid = self._mail_ids()
        self.dict_dir.mkdir(exist_ok=True)
        os.chown(self.dict_dir, uid, gid)
        for backend in self.backends:
            home_root = backend.dir / "home"
            home_root.mkdir(parents=True, exist_ok=True)
            os.chmod(home_root, 0o755)
            for u in self.users:
                home = home_root / u.name
                home.mkdir(exist_ok=True)
                os.chown(home, uid, gid)
                if self.rawlog:
                    (home / "rawlog").mkdir(exist_ok=True)
                    os.chown(home / "rawlog", uid, gid)

    # -- life cycle -------------------------------------------------------

    def start(self) -> "Cluster":
        try:
            if self.plugins:
                self._prepare_module_dir()
            self._prepare_homes()
            for backend in self.backends:
                backend.start()
            for front in self.directors or [self.proxy]:
                front.start()
            self._wait_for_ring()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for instance in self.instances:
            instance.signal_stop()
        for instance in self.instances:
            instance.wait_stopped()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.remove()

    # -- use --------------------------------------------------------------

    @property
    def instances(self) -> list[Dovecot]:
        return [*(self.directors or [self.proxy]), *self.backends, *self.extras]

    def start_imapc_node(self, owner: str = "alice", viewer: str = "bob", prefix: str | None = None,
                         config: str = "") -> Dovecot:
        """The reference: one more Dovecot ("imapcnode") where `viewer` (same
        password) has a namespace `prefix` (default `shared/<owner>/`, the
        layout of shared_imapc's) on Dovecot's built-in imapc storage:
        `owner`'s account through the proxy, logged in as `owner` with
        `viewer` as master user, so `owner`'s server applies `viewer`'s
        rights, with the features its documentation advises (acl: the ACL
        commands go to the remote server, through imap_acl). Subscriptions
        are `viewer`'s own (the imapc namespace has `subscriptions = no`).
        `config` is appended to its dovecot.conf. Without a mailbox list
        index: with one, Dovecot 2.3.19 panics on a DELETE through imapc
        with the acl plugin (acl-mailbox.c: assertion failed: ignore_acls,
        from mailbox_list_index_sync_name in mailbox_list_delete_dir)."""
        from_benches = "search fetch-headers fetch-bodystructure rfc822.size modseq delay-login acl"
        node = Dovecot(self.root, "imapcnode")
        uid, gid = self._mail_ids()
        home = node.dir / "home" / viewer
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, uid, gid)
        self._write_users(node.dir / "users",
                          lambda u: f"{u.name}:{{PLAIN}}{u.password}:{uid}:{gid}::{node.dir / 'home' / u.name}::")
        node.config = f"""
mail_location = maildir:~/Maildir
mailbox_list_index = no
mail_plugins = $mail_plugins acl
protocol imap {{
  mail_plugins = $mail_plugins imap_acl
}}
passdb {{
  driver = passwd-file
  args = {node.dir / "users"}
}}
userdb {{
  driver = passwd-file
  args = {node.dir / "users"}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
namespace imapc {{
  prefix = {prefix or f"shared/{owner}/"}
  separator = /
  location = imapc:~/imapc
  subscriptions = no
  list = yes
}}
imapc_host = {self.proxy.address}
imapc_port = {self.proxy.port}
imapc_user = {owner}
imapc_master_user = {viewer}
imapc_password = {self.master_password}
imapc_features = {from_benches}
plugin {{
  acl = vfile
}}
{config}
"""
        self.extras.append(node)
        return node.start()

    def password(self, user: str) -> str:
        return next(u.password for u in self.users if u.name == user)

    def login(self, user: str, password: str | None = None) -> imaplib.IMAP4:
        """An imaplib client logged in as `user` through the proxy."""
        imap = self.proxy.connect()
        imap.login(user, password if password is not None else self.password(user))
        return imap

    def problems(self) -> dict[str, list[str]]:
        """Error-level log lines per instance (empty when all is well)."""
        return {i.name: p for i in self.instances if (p := i.problems())}

    def logs(self) -> str:
        return "\n".join(f"===== {i.name} ({i.log_path}) =====\n{i.log()}" for i in self.instances)

    def describe(self) -> dict:
        return {
            "root": str(self.root),
            "proxy": {"host": self.proxy.address, "port": self.proxy.port, "conf": str(self.proxy.conf)},
            "backends": [
                {"name": b.name, "host": b.address, "port": b.port, "conf": str(b.conf), "log": str(b.log_path)}
                for b in self.backends
            ],
            "users": [
                {"name": u.name, "password": u.password, "backend": self.backend_of(u.name).name} for u in self.users
            ],
            "master_password": self.master_password,
        }

    def save_description(self) -> Path:
        path = self.root / "cluster.json"
        path.write_text(json.dumps(self.describe(), indent=2))
        return path


def stop_saved(root: Path) -> None:
    """Stops every instance under `root` (for `make demo-stop`)."""
    instances = [Dovecot(Path(root), pid_file.parents[1].name) for pid_file in Path(root).glob("*/run/master.pid")]
    for instance in instances:
        instance.signal_stop()
    for instance in instances:
        instance.wait_stopped()


def raw_command(imap, command: str) -> tuple[str, list[str]]:
    """Sends `command` raw on an imaplib session (for what imaplib cannot
    send or keeps from the caller): its tagged status and the untagged
    lines before it."""
    tag = imap._new_tag().decode()
    imap.send(f"{tag} {command}\r\n".encode())
    lines = []
    while not (line := imap.readline().decode()).startswith(tag + " "):
        assert line, (command, "connection closed", lines)
        lines.append(line.rstrip("\r\n"))
    return line.split()[1], lines


def seed_team_folder(
    cluster: Cluster, owner: str = "alice", folder: str = "Team", count: int = 5, subject: str = "Message"
) -> None:
    """Gives `owner` a folder of `count` small messages (subjects "Message N")."""
    imap = cluster.login(owner)
    imap.create(folder)
    for n in range(1, count + 1):
        body = (
            f"From: {owner}@example.net\r\nTo: team@example.net\r\nSubject: {subject} {n}\r\n"
            f"Date: Mon, {n:02d} Jun 2025 10:00:00 +0000\r\nMessage-ID: <m{n}@example.net>\r\n\r\nBody {n}\r\n"
        )
        imap.append(folder, None, None, body.encode())
    imap.logout()


def rich_messages() -> list[bytes]:
    """Messages that exercise FETCH and SEARCH: plain, multipart with an
    attachment, 8-bit UTF-8 with an encoded subject, a reply in a thread,
    HTML alternative, one of about 200 kB, and a forward with raw Latin-1
    headers."""
    def msg(n: int, subject: str, extra: str = "", body: str = "", ctype: str = "text/plain; charset=us-ascii") -> bytes:
        return (
            f"From: Sender {n} <s{n}@example.net>\r\nTo: team@example.net\r\n"
            f"Cc: cc{n % 3}@example.org\r\nSubject: {subject}\r\n"
            f"Date: Tue, {n:02d} Jul 2025 {8 + n % 9:02d}:30:00 +0200\r\n"
            f"Message-ID: <r{n}@example.net>\r\n{extra}MIME-Version: 1.0\r\n"
            f"Content-Type: {ctype}\r\n\r\n{body or f'Body of message {n}, word{n}.'}\r\n"
        ).encode()
    mixed = (
        "--b1\r\nContent-Type: text/plain\r\n\r\nSee the attachment, budget.\r\n"
        "--b1\r\nContent-Type: application/octet-stream; name=data.bin\r\n"
        "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=data.bin\r\n\r\n"
        "AAECAwQFBgcICQ==\r\n--b1--"
    )
    alternative = (
        "--b2\r\nContent-Type: text/plain\r\n\r\nplain part\r\n"
        "--b2\r\nContent-Type: text/html\r\n\r\n<p>html part</p>\r\n--b2--"
    )
    big = "\r\n".join(f"line {i} of the big report, quarterly numbers" for i in range(4000))
    return [
        msg(1, "Quarterly report"),
        msg(2, "Re: Quarterly report", "In-Reply-To: <r1@example.net>\r\nReferences: <r1@example.net>\r\n"),
        msg(3, "Attachment", body=mixed, ctype='multipart/mixed; boundary="b1"'),
        msg(4, "=?UTF-8?Q?Caf=C3=A9_meeting?=", body="Caf\u00e9 au lait, tr\u00e8s bien.", ctype="text/plain; charset=utf-8"),
        msg(5, "Alternative", body=alternative, ctype='multipart/alternative; boundary="b2"'),
        msg(6, "Re: Re: Quarterly report", "In-Reply-To: <r2@example.net>\r\nReferences: <r1@example.net> <r2@example.net>\r\n"),
        msg(7, "Big report", body=big),
        msg(8, "Zebra lunch"),
        forwarded_latin1(),
    ]


def forwarded_latin1() -> bytes:
    """Raw 8-bit Latin-1 headers (not UTF-8) and a message/rfc822 part: the
    ENVELOPE has literals, the BODYSTRUCTURE an envelope inside."""
    return (
        b"From: J\xf6rg <j9@example.net>\r\nTo: team@example.net\r\nSubject: Caf\xe9 cr\xe8me\r\n"
        b"Date: Wed, 09 Jul 2025 10:30:00 +0200\r\nMessage-ID: <r9@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b3"\r\n\r\n'
        b"--b3\r\nContent-Type: text/plain\r\n\r\nForwarded.\r\n"
        b"--b3\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: Inner <in@example.net>\r\nSubject: Inner\r\nMessage-ID: <in@example.net>\r\n\r\nInner body\r\n"
        b"--b3--\r\n"
    )


def seed_rich_folder(cluster: "Cluster", owner: str = "alice", folder: str = "Rich") -> None:
    """Gives `owner` a folder of rich_messages() with some flags set."""
    imap = cluster.login(owner)
    imap.create(folder)
    for n, body in enumerate(rich_messages(), 1):
        date = imaplib.Time2Internaldate(1751300000 + n * 86400)
        imap.append(folder, None, date, body)
    imap.select(folder)
    imap.store("1,3", "+FLAGS", "(\\Seen)")
    imap.store("2", "+FLAGS", "(\\Flagged $Work)")
    imap.store("5:6", "+FLAGS", "(\\Answered)")
    imap.logout()


def shared_dict_tool() -> Path:
    """The `shared-dict` admin tool cargo built ($SHARED_DICT_TOOL)."""
    path = Path(os.environ.get("SHARED_DICT_TOOL", REPO / "target/debug/shared-dict")).resolve()
    if not path.exists():
        raise RuntimeError(f"{path} does not exist: run `cargo build` first")
    return path


def serve(argv: list[str]) -> None:
    """`cluster.py serve [--backends N]`: starts a cluster for a test in
    another language, prints `key=value` lines and `ready`, and stops the
    cluster when its standard input closes."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="cluster.py serve")
    parser.add_argument("--backends", type=int, default=2)
    parser.add_argument("--no-plugin", action="store_true")
    parser.add_argument("--tls", action="store_true", help="TLS on the proxy (imaps and STARTTLS)")
    args = parser.parse_args(argv)
    cluster = Cluster(backends=args.backends, plugins=() if args.no_plugin else ("shared_imapc",), tls=args.tls)
    try:
        cluster.start()
        seed_team_folder(cluster)
        print(f"root={cluster.root}")
        print(f"proxy_port={cluster.proxy.port}")
        print(f"master_password={cluster.master_password}")
        if cluster.ca_file:
            print(f"imaps_port={cluster.proxy.imaps_port}")
            print(f"ca_file={cluster.ca_file}")
        for u in cluster.users:
            print(f"user={u.name}:{u.password}:{cluster.backend_of(u.name).name}")
        for b in cluster.backends:
            print(f"backend={b.name}:{b.port}")
        print("ready", flush=True)
        sys.stdin.read()
    finally:
        cluster.remove()


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["serve"]:
        sys.exit("usage: cluster.py serve [--backends N] [--no-plugin]")
    serve(sys.argv[2:])
