"""Fixtures shared by every test: the core's (tests/) and the plugins' (connectors/*/tests).

Every test runs isolated (``_isolated``, autouse): no crmbridge or CRM setting from the
outer environment (see :mod:`tests.environment`) and an empty working directory of its
own, so no ``./crmbridge.toml`` or database of the developer's is read or written.

Store tests run on SQLite *and* on a real PostgreSQL server. The server is started
once per test session from the local PostgreSQL binaries (``initdb`` / ``pg_ctl``, on
PATH or in /usr/lib/postgresql/*/bin); every test gets a database with nothing in it
from another test. Missing binaries fail the run with the fix; set
``CRMBRIDGE_TEST_POSTGRES=0`` to skip the Postgres half deliberately.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings

from crmbridge.store.repository import Store
from crmbridge_hubspot.sandbox.server import SandboxServer
from tests.environment import outside_settings
from tests.integration.daemon.app_harness import Harness, build_app

#: The reliability fuzz suite's counts: a plugin, so that with pytest-xdist's workers the
#: controlling process (which loads no folder's conftest) prints and saves them.
pytest_plugins = ["tests.integration.reliability.figures"]

POSTGRES_SWITCH = "CRMBRIDGE_TEST_POSTGRES"
BACKENDS = ["sqlite", "postgres"]


#: Hypothesis examples per property test: a quick sample in every run, many with --long.
#: (Property tests name no ``max_examples`` of their own unless a size fixture sets it.)
SHORT_EXAMPLES, LONG_EXAMPLES = 40, 500
hypothesis_settings.register_profile("crmbridge-short", max_examples=SHORT_EXAMPLES)
hypothesis_settings.register_profile("crmbridge-long", max_examples=LONG_EXAMPLES)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--long``: heavy suites at full size (``python -m pytest --long`` or a folder)."""
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="heavy suites at full size: the reliability fuzz suite (tests/integration/"
        "reliability; writes benchmarks/results/reliability.json), the crash-kill trials, "
        f"{LONG_EXAMPLES} examples per property test instead of {SHORT_EXAMPLES}, and the "
        "larger data sets of the slow integration tests",
    )


#: pytest-xdist workers of a whole-suite run that names none (``-n``): CI's two cores.
WORKERS = 2


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The whole suite (``python -m pytest`` naming no path) on two pytest-xdist workers,
    a test file each at a time.

    A file's module-scoped fixtures are built once, and each worker starts its own
    PostgreSQL cluster and its sandboxes on free ports. Files are handed out in
    collection order: tests/e2e's few long tests start first instead of ending the run
    alone. A run of named files or folders stays in this process (starting workers costs
    more than a few files take), as does one with ``-n`` given (``-n 2`` for workers),
    ``--pdb`` or ``--collect-only``, or without pytest-xdist installed.
    """
    option = config.option
    if (
        config.args_source is not pytest.Config.ArgsSource.TESTPATHS
        or not config.pluginmanager.hasplugin("xdist")
        or hasattr(config, "workerinput")
        or option.numprocesses is not None
        or option.usepdb
        or option.collectonly
    ):
        return
    option.numprocesses = WORKERS
    if option.dist == "no":
        option.dist = "loadfile"
        option.loadscopereorder = False


def pytest_configure(config: pytest.Config) -> None:
    """Select the hypothesis profile before any test module (and its ``@settings``) loads."""
    long = config.getoption("--long")
    hypothesis_settings.load_profile("crmbridge-long" if long else "crmbridge-short")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No crmbridge settings or CRM secrets from the outer environment; no ./crmbridge.toml;
    a user data folder of the test's own."""
    for name in outside_settings(os.environ):
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # The bundled example keeps its store in the user's data folder: one of the test's
    # own, so no test reads another's (or the developer's) store.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))


def _postgres_bin_dir() -> Path | None:
    """Where initdb and pg_ctl live: PATH first, else the newest Debian/Ubuntu install."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).resolve().parent
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for candidate in reversed(installed):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresCluster:
    """A running throw-away cluster that hands out databases, one per test."""

    port: int
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    _spare: list[str] = field(default_factory=list)
    #: ``pg_ctl -D <data dir>`` (as the cluster's owner), and the arguments that start
    #: the server again: outage tests stop and restart the server with them.
    pg_ctl: tuple[str, ...] = ()
    start_args: tuple[str, ...] = ()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def empty_database(self) -> str:
        """A new database without any table."""
        name = f"crmbridge_test_{next(self._counter)}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def migrated_database(self) -> str:
        """A database at the head schema revision with every table empty.

        Creating a database costs ~0.3 s, so databases given back are reused: every
        other session on it is ended and every table truncated (ids restart at 1).
        """
        if not self._spare:
            name = self.empty_database()
            Store.open(self.url(name)).engine.dispose()
            return name
        name = self._spare.pop()
        with self.connect() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        with self.connect(name) as conn:
            tables = [
                f'"{table}"'
                for (table,) in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'alembic_version'"
                )
            ]
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        return name

    def give_back(self, name: str) -> None:
        """``name`` (from :meth:`migrated_database`) may be emptied and handed out again."""
        self._spare.append(name)

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Start a PostgreSQL cluster in a temp dir for the session; stop it at the end."""
    if os.environ.get(POSTGRES_SWITCH) == "0":
        pytest.skip(f"PostgreSQL tests switched off ({POSTGRES_SWITCH}=0)")
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH nor in "
            "/usr/lib/postgresql/*/bin. Install them with `apt-get install postgresql`, "
            f"or set {POSTGRES_SWITCH}=0 to skip the PostgreSQL half of the store tests.",
            pytrace=False,
        )
    as_root = os.geteuid() == 0
    # PostgreSQL refuses to run as root: the cluster then belongs to the postgres user.
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="crmbridge-pg-"))
    if as_root:
        shutil.chown(base, user="postgres", group="postgres")
    data, log = base / "data", base / "server.log"
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            pytest.fail(
                f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout}\n"
                f"{done.stderr}\n{server_log}",
                pytrace=False,
            )

    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    options += " -c synchronous_commit=off -c full_page_writes=off"
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        run(*initdb, "-E", "UTF8", "--locale=C", "--no-sync")
        start_args = ("-l", str(log), "-w", "-o", options, "start")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), *start_args)
        pg_ctl = (*prefix, str(bin_dir / "pg_ctl"), "-D", str(data))
        yield PostgresCluster(port, pg_ctl=pg_ctl, start_args=start_args)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A migrated, empty database of this test only on the session's cluster."""
    name = postgres_cluster.migrated_database()
    yield postgres_cluster.url(name)
    postgres_cluster.give_back(name)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """An empty HubSpot sandbox serving on a free port (the daemon tests' CRM)."""
    from tests.integration.daemon.daemon_helpers import start_sandbox

    server = start_sandbox(0)
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store backends every store test runs on."""
    name: str = request.param
    return name


def _database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool
) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        if migrated:
            Store.open(url).engine.dispose()
        yield url
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    if migrated:
        name = cluster.migrated_database()
        yield cluster.url(name)
        cluster.give_back(name)
    else:
        name = cluster.empty_database()
        yield cluster.url(name)
        cluster.drop_database(name)


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (SQLite file in tmp_path, or a Postgres database)."""
    yield from _database(backend, request, tmp_path, migrated=False)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test only, migrated to the current schema, on each backend."""
    yield from _database(backend, request, tmp_path, migrated=True)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A :class:`Store` on ``store_url``."""
    opened = Store.open(store_url)
    yield opened
    opened.engine.dispose()


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating costs more than copying)."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    Store.open(f"sqlite:///{path}").engine.dispose()
    return path


@pytest.fixture
def sqlite_store(_template_db: Path, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty SQLite store of this test only."""
    path = tmp_path / "store.db"
    shutil.copyfile(_template_db, path)
    opened = Store.open(f"sqlite:///{path}", migrate=False)
    yield opened
    opened.engine.dispose()


@pytest.fixture
def build(sqlite_store: Store) -> Callable[..., Harness]:
    """Build an app on the test's store: ``build(config=..., health=..., stopping=...)``."""
    return partial(build_app, sqlite_store)


@pytest.fixture
def harness(build: Callable[..., Harness]) -> Harness:
    """The default app: every secret configured, a fixed clock."""
    harness: Harness = build()
    return harness
