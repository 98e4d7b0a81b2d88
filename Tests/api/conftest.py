"""Fixtures of the end-to-end suite: the `roost` binary (env ROOST_BIN), servers on temporary
data directories, and a CLI runner.

    ROOST_BIN=.build/release/roost python -m pytest Tests/api
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from roost_e2e import RoostServer, roost_env  # noqa: E402


@pytest.fixture(scope="session")
def roost_bin() -> str:
    """Absolute path of the binary under test, from ROOST_BIN."""
    value = os.environ.get("ROOST_BIN")
    if not value:
        pytest.fail(
            "ROOST_BIN is not set: point it at the roost binary to test, e.g. "
            "ROOST_BIN=.build/release/roost python -m pytest Tests/api",
            pytrace=False,
        )
    path = Path(value).expanduser().resolve()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"ROOST_BIN={value} is not an executable file", pytrace=False)
    return str(path)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory path for this test (not created: roost creates it)."""
    return tmp_path / "data"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Working directory of every roost process of the test, and where server logs go. Keeping
    the processes out of the repository means a forgotten --data-dir can never touch data/state."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def server_factory(roost_bin, workdir, request):
    """Makes (unstarted) RoostServers; every one is stopped at teardown, passed or failed."""
    servers: list[RoostServer] = []
    request.node._roost_servers = servers

    def make(data_dir, *, env=None, port=None, extra_args=(), name=None) -> RoostServer:
        server = RoostServer(
            roost_bin, data_dir, workdir, env=env, port=port, extra_args=tuple(extra_args),
            name=name or f"server{len(servers) + 1}",
        )
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.cleanup()


@pytest.fixture
def server(server_factory, data_dir) -> RoostServer:
    """A live `roost serve` on a fresh data directory."""
    return server_factory(data_dir, name="server").start()


@pytest.fixture
def run_cli(roost_bin, workdir):
    """run_cli(*args, env=None) runs `roost <args>` to completion (60 s at most) and returns the
    CompletedProcess (text). `env` overrides on top of os.environ and the suite's defaults."""

    def run(*args, env=None, timeout: float = 60, cwd=None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [roost_bin, *map(str, args)], capture_output=True, text=True, timeout=timeout,
            env=roost_env(env), cwd=cwd or workdir, stdin=subprocess.DEVNULL,
        )

    return run


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the logs of the test's servers to the report."""
    report = yield
    if report.when == "call" and report.failed:
        for server in getattr(item, "_roost_servers", []):
            if server.launches:
                report.sections.append((f"roost {server.name} logs ({server.data_dir})", server.all_logs()))
    return report
