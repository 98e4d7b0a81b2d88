"""Helpers for the end-to-end suite: run the `roost` binary as a server and as a CLI.

Nothing here knows about pytest fixtures; `conftest.py` wires these into fixtures and the
tests import the assertion helpers directly (`from roost_e2e import ...`).
"""

from __future__ import annotations

import json
import os
import re
import signal as signals
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Mapping

import requests

# Environment every roost process of the suite gets on top of os.environ: the repository's
# reference data, info logs (the tests read them), JSON log lines, and no timer-driven snapshots
# (the tests ask for them explicitly).
ROOST_TEST_ENV = {
    # The shipped catalogues (amenities, currencies, FX), wherever the binary under test lives.
    "ROOST_REFERENCE_DIR": str(Path(__file__).resolve().parents[2] / "data"),
    "ROOST_LOG_LEVEL": "info",
    "ROOST_LOG_FORMAT": "json",
    "ROOST_SNAPSHOT_INTERVAL_SECONDS": "0",
}

LOOPBACK = "127.0.0.1"
CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Generated ids are Hummingbird's: a per-process hex prefix (1-16 digits) and a 16-digit hex counter.
GENERATED_REQUEST_ID = re.compile(r"^[0-9a-f]{17,32}$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PROBLEM_FIELDS = ("type", "title", "status", "detail", "code", "requestId")


def roost_env(overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """os.environ + the suite's defaults + `overrides` (a value of None removes the variable)."""
    env = dict(os.environ)
    env.update(ROOST_TEST_ENV)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def output(completed: subprocess.CompletedProcess) -> str:
    """stdout and stderr of a finished CLI run, together (messages may go to either)."""
    return (completed.stdout or "") + (completed.stderr or "")


def describe(completed: subprocess.CompletedProcess) -> str:
    return (
        f"$ {' '.join(map(str, completed.args))}\nexit status {completed.returncode}\n"
        f"--- stdout ---\n{tail(completed.stdout or '')}\n--- stderr ---\n{tail(completed.stderr or '')}"
    )


def parse_log_lines(text: str) -> list[dict]:
    """Every stdout line of a server as a JSON object (raises on a line that is not one)."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise AssertionError(f"log line {number} is not JSON ({error}): {line!r}") from None
        if not isinstance(record, dict):
            raise AssertionError(f"log line {number} is not a JSON object: {line!r}")
        records.append(record)
    return records


class ServerExited(Exception):
    """The server process ended before it became live."""

    def __init__(self, returncode: int, log: str):
        super().__init__(f"roost serve exited with status {returncode} before answering /health/live")
        self.returncode = returncode
        self.log = log


class RoostServer:
    """One `roost serve` process on a loopback port and a data directory.

    `start()` launches it (a fresh free port each time unless one was given) and waits for
    GET /health/live; its stdout and stderr go to files in `workdir`, one pair per start, so a
    restart on the same data directory keeps the earlier logs.
    """

    def __init__(
        self,
        binary: str | os.PathLike,
        data_dir: str | os.PathLike,
        workdir: str | os.PathLike,
        *,
        env: Mapping[str, Any] | None = None,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        name: str = "server",
    ):
        self.binary = str(binary)
        self.data_dir = Path(data_dir)
        self.workdir = Path(workdir)
        self.env_overrides = dict(env or {})
        self.fixed_port = port
        self.port: int | None = port
        self.extra_args = tuple(extra_args)
        self.name = name
        self.process: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.stdout_path: Path | None = None
        self.stderr_path: Path | None = None
        self.launches = 0

    # -- life cycle ------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> "RoostServer":
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        attempts = 1 if self.fixed_port is not None else 3
        for attempt in range(attempts):
            self._launch(self.fixed_port if self.fixed_port is not None else free_port())
            try:
                self._wait_until_live(timeout)
                return self
            except ServerExited as exited:
                # The free port can be taken between our probe and the server's bind: try another.
                port_race = "address already in use" in exited.log.lower()
                if port_race and attempt + 1 < attempts:
                    continue
                raise AssertionError(
                    f"{self.name}: {exited}\n--- log tail ({self.data_dir}) ---\n{tail(exited.log)}"
                ) from None
        raise AssertionError("unreachable")

    def _launch(self, port: int) -> None:
        self.launches += 1
        self.port = port
        self.returncode = None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.workdir / f"{self.name}-{self.launches}.stdout.log"
        self.stderr_path = self.workdir / f"{self.name}-{self.launches}.stderr.log"
        command = [
            self.binary, "serve",
            "--host", LOOPBACK, "--port", str(port), "--data-dir", str(self.data_dir),
            *self.extra_args,
        ]
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                env=roost_env(self.env_overrides), cwd=self.workdir,
            )

    def _wait_until_live(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                self.returncode = code
                raise ServerExited(code, self.log_text())
            try:
                if requests.get(self.url("/health/live"), timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(
                    f"{self.name} did not answer GET /health/live within {timeout} s\n"
                    f"--- log tail ---\n{tail(self.log_text())}"
                )
            time.sleep(0.02)

    def stop(self, signal: int = signals.SIGTERM, timeout: float = 10.0) -> int:
        """Sends `signal` and waits for the exit; returns the exit status (negative: killed by a
        signal). If the process outlives `timeout` it is SIGKILLed and AssertionError is raised."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        if self.process.poll() is None:
            self.process.send_signal(signal)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self.returncode = self.process.returncode
                raise AssertionError(
                    f"{self.name} (pid {self.pid}) did not exit within {timeout} s of signal {signal}; "
                    f"SIGKILLed\n--- log tail ---\n{tail(self.log_text())}"
                ) from None
        self.returncode = self.process.returncode
        return self.returncode

    def kill(self) -> int:
        """SIGKILL (no chance to clean up), then reap. Returns the exit status."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.returncode = self.process.returncode
        return self.returncode

    def cleanup(self) -> None:
        """Best effort for teardown: SIGTERM, then SIGKILL; never raises."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.stop(signals.SIGTERM, timeout=10)
        except AssertionError:
            pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    # -- HTTP --------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def raw(self, request: bytes, timeout: float = 10.0) -> "RawResponse":
        return raw_http(LOOPBACK, self.port, request, timeout=timeout)

    # -- logs ----------------------------------------------------------------------------------

    def stdout_text(self) -> str:
        return _read(self.stdout_path)

    def stderr_text(self) -> str:
        return _read(self.stderr_path)

    def log_text(self) -> str:
        return self.stdout_text() + self.stderr_text()

    def log_records(self) -> list[dict]:
        """The current launch's stdout, one JSON object per line."""
        return parse_log_lines(self.stdout_text())

    def all_logs(self) -> str:
        parts = []
        for n in range(1, self.launches + 1):
            for stream in ("stdout", "stderr"):
                path = self.workdir / f"{self.name}-{n}.{stream}.log"
                parts.append(f"--- {path.name} ---\n{tail(_read(path))}")
        return "\n".join(parts)


def _read(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    return path.read_bytes().decode("utf-8", errors="replace")


# -- raw HTTP/1.1 (for requests a client library would refuse or normalise) -------------------------


class RawResponse:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for key, value in self.header_list:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<RawResponse {self.status} {self.header_list} {self.body[:200]!r}>"


def raw_http(host: str, port: int, request: bytes, timeout: float = 10.0) -> RawResponse:
    """Sends `request` as is (it should say `Connection: close`) and parses the one response."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        raise AssertionError(f"no HTTP response to {request[:120]!r}...: got {data[:200]!r}")
    _, status, *reason = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    response = RawResponse(int(status), reason[0] if reason else "", headers, body)
    if (response.header("Transfer-Encoding") or "").lower() == "chunked":
        response.body = _dechunk(body)
    return response


def _dechunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return b"".join(out)


# -- assertions ---------------------------------------------------------------------------------


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def assert_request_id_header(headers: Mapping[str, str] | RawResponse) -> str:
    value = headers.header("X-Request-ID") if isinstance(headers, RawResponse) else headers.get("X-Request-ID")
    assert value, "response has no X-Request-ID header"
    assert CLIENT_REQUEST_ID.match(value) or GENERATED_REQUEST_ID.match(value), f"odd X-Request-ID {value!r}"
    return value


def assert_problem(response: requests.Response | RawResponse, status: int | None = None, code: str | None = None) -> dict:
    """The response is an RFC 9457 problem in Roost's shape; returns its body."""
    if isinstance(response, RawResponse):
        actual_status, content_type, text = response.status, response.header("Content-Type"), response.body.decode("utf-8", "replace")
    else:
        actual_status, content_type, text = response.status_code, response.headers.get("Content-Type"), response.text
    context = f"{actual_status} {content_type!r} {text[:300]!r}"
    if status is not None:
        assert actual_status == status, f"expected status {status}, got {context}"
    assert media_type(content_type) == "application/problem+json", f"not problem+json: {context}"
    body = json.loads(text)
    assert isinstance(body, dict), context
    missing = [field for field in PROBLEM_FIELDS if field not in body]
    assert not missing, f"problem lacks {missing}: {context}"
    assert type(body["status"]) is int and body["status"] == actual_status, f"status field vs status line: {context}"
    for field in ("type", "title", "detail", "code", "requestId"):
        assert isinstance(body[field], str), f"{field} is not a string: {context}"
    assert SNAKE_CASE.match(body["code"]), f"code {body['code']!r} is not snake_case"
    header_id = assert_request_id_header(response if isinstance(response, RawResponse) else response.headers)
    assert body["requestId"] == header_id, f"requestId {body['requestId']!r} != X-Request-ID {header_id!r}"
    if code is not None:
        assert body["code"] == code, f"expected code {code!r}: {context}"
    return body
