"""Operating Roost as an operator would: the `roost` subcommands (serve, snapshot, restore,
wal verify/dump) against real data directories, signals, crashes and the data directory lock."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from roost_e2e import describe, free_port, output

SNAPSHOT_HEADER_BYTES = 36  # magic, version, lsn, body length, body CRC, header CRC


# --- helpers ------------------------------------------------------------------------------------


def run_expecting_exit(run_cli, *args, env=None, timeout: float = 20) -> subprocess.CompletedProcess:
    """Runs a command that must finish on its own (a refusal): a hang is a failure, not a wait."""
    try:
        return run_cli(*args, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"`roost {' '.join(map(str, args))}` was still running after {timeout} s; it should have refused "
                    f"and exited.\nstdout: {expired.stdout!r}\nstderr: {expired.stderr!r}")


def assert_refused(result: subprocess.CompletedProcess) -> None:
    """Non-zero exit by the program itself (a crash by signal is not a refusal)."""
    assert result.returncode != 0, "expected a refusal\n" + describe(result)
    assert result.returncode > 0, "killed by a signal (crash?) instead of exiting\n" + describe(result)


def message_lines(result: subprocess.CompletedProcess) -> list[str]:
    """Non-empty output lines that are not JSON log records: what the operator is told."""
    lines = []
    for line in output(result).splitlines():
        if not line.strip():
            continue
        try:
            if isinstance(json.loads(line), dict):
                continue
        except json.JSONDecodeError:
            pass
        lines.append(line)
    return lines


def snapshot_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "snapshots").glob("*.snapshot"))


def snapshot_lsn(path: Path) -> int:
    return int(path.name.split(".")[0])


def take_snapshot(run_cli, data_dir: Path) -> subprocess.CompletedProcess:
    data_dir.mkdir(exist_ok=True)  # the commands that read existing state refuse a directory that is not there
    result = run_cli("snapshot", "--data-dir", data_dir, "--timeout", 20)
    assert result.returncode == 0, describe(result)
    assert snapshot_files(data_dir), f"no snapshot in {data_dir / 'snapshots'} after:\n{describe(result)}"
    return result


def assert_live_and_ready(server) -> None:
    live = server.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}, live.text
    ready = server.get("/health/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}, ready.text


# --- the command line ---------------------------------------------------------------------------


def test_help_lists_the_serve_snapshot_restore_and_wal_subcommands(run_cli):
    result = run_cli("--help")
    assert result.returncode == 0, describe(result)
    for command in ("serve", "snapshot", "restore", "wal"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), f"{command} missing from:\n{result.stdout}"


@pytest.mark.parametrize(
    "variable, value",
    [
        ("ROOST_PORT", "notanumber"),
        ("ROOST_PORT", "70000"),
        ("ROOST_LOG_LEVEL", "loud"),
        ("ROOST_SNAPSHOT_INTERVAL_SECONDS", "-1"),
    ],
)
def test_serve_refuses_an_invalid_environment_variable_naming_it(run_cli, data_dir, variable, value):
    env = {"ROOST_PORT": free_port(), variable: value}  # should it start anyway, not on a busy port
    result = run_expecting_exit(run_cli, "serve", "--host", "127.0.0.1", "--data-dir", data_dir, env=env)
    assert_refused(result)
    assert variable in output(result), describe(result)


# --- the data directory lock ----------------------------------------------------------------------


def test_second_server_on_the_same_data_dir_is_refused_as_in_use_and_the_first_keeps_serving(server, run_cli, data_dir):
    started = time.monotonic()
    second = run_expecting_exit(run_cli, "serve", "--host", "127.0.0.1", "--port", free_port(), "--data-dir", data_dir)
    elapsed = time.monotonic() - started
    assert_refused(second)
    assert elapsed < 10, f"the refusal took {elapsed:.1f} s"
    lines = message_lines(second)
    assert len(lines) == 1 and "in use" in lines[0], f"expected one line saying the directory is in use:\n{describe(second)}"
    assert server.running
    assert_live_and_ready(server)


def test_a_second_server_is_refused_even_after_the_lock_file_was_removed(server, run_cli, data_dir):
    """LOCK stays on disk after a server exits, so it looks like a leftover to delete: deleted under a running
    server, the directory's own lock still refuses a second one (two writers on one log)."""
    (data_dir / "LOCK").unlink()
    second = run_expecting_exit(run_cli, "serve", "--host", "127.0.0.1", "--port", free_port(), "--data-dir", data_dir)
    assert_refused(second)
    assert "in use" in output(second) and "LOCK file was removed" in output(second), describe(second)
    assert_refused(run_expecting_exit(run_cli, "check", "--data-dir", data_dir))
    assert server.running
    assert_live_and_ready(server)


def test_server_killed_with_sigkill_restarts_on_the_same_data_dir_live_and_ready(server_factory, run_cli, data_dir):
    first = server_factory(data_dir, name="first").start()
    take_snapshot(run_cli, data_dir)
    assert first.kill() == -signal.SIGKILL
    second = server_factory(data_dir, name="second").start()
    assert_live_and_ready(second)


# --- stopping -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_shutdown_signal_exits_0_within_10s_and_logs_engine_stopped(server, stop_signal):
    assert server.get("/health/live").status_code == 200
    started = time.monotonic()
    status = server.stop(stop_signal, timeout=10)
    elapsed = time.monotonic() - started
    assert status == 0, f"exit status {status} after {stop_signal.name}\n{server.log_text()[-3000:]}"
    assert elapsed < 10
    records = server.log_records()  # raises if a stdout line is not a JSON object
    for record in records:
        missing = [key for key in ("ts", "level", "msg", "label") if key not in record]
        assert not missing, f"log record without {missing}: {record}"
    assert any(record["msg"] == "engine stopped" for record in records), [r["msg"] for r in records]


def test_server_log_lines_are_json_objects_with_ts_level_msg_label(server):
    server.get("/health/live")
    server.get("/no/such/route")
    # Info lines are batched (written at least every 50 ms), so give them a moment to land.
    deadline = time.monotonic() + 2
    records = server.log_records()
    while not any(record.get("msg") == "request" for record in records) and time.monotonic() < deadline:
        time.sleep(0.05)
        records = server.log_records()
    assert any(record.get("msg") == "request" for record in records), "no request was logged"
    for record in records:
        assert {"ts", "level", "msg", "label"} <= set(record), record
        assert all(isinstance(record[key], str) for key in ("ts", "level", "msg", "label")), record


# --- snapshot -------------------------------------------------------------------------------------


def test_snapshot_while_serving_is_written_by_the_running_server(server, run_cli, data_dir):
    result = run_cli("snapshot", "--data-dir", data_dir, "--timeout", 20)
    assert result.returncode == 0, describe(result)
    assert "snapshot written by the running server" in output(result), describe(result)
    assert snapshot_files(data_dir), f"no {data_dir}/snapshots/*.snapshot"
    assert_live_and_ready(server)


def test_snapshot_without_a_server_is_written_offline_and_leaves_the_data_dir_usable(server_factory, run_cli, data_dir):
    data_dir.mkdir()
    result = run_cli("snapshot", "--data-dir", data_dir)
    assert result.returncode == 0, describe(result)
    assert "snapshot written offline" in output(result), describe(result)
    assert snapshot_files(data_dir), f"no {data_dir}/snapshots/*.snapshot"
    assert_live_and_ready(server_factory(data_dir).start())


# --- wal verify / dump ----------------------------------------------------------------------------


def test_wal_verify_passes_on_a_fresh_data_dir(run_cli, data_dir):
    data_dir.mkdir()
    result = run_cli("wal", "verify", "--data-dir", data_dir)
    assert result.returncode == 0, describe(result)
    assert result.stdout.rstrip().endswith("ok"), describe(result)


def test_wal_verify_passes_while_serving_and_after_a_clean_stop(server, run_cli, data_dir):
    server.get("/health/live")
    take_snapshot(run_cli, data_dir)
    while_serving = run_cli("wal", "verify", "--data-dir", data_dir)
    assert while_serving.returncode == 0, describe(while_serving)
    assert while_serving.stdout.rstrip().endswith("ok"), describe(while_serving)
    assert server.stop() == 0
    after_stop = run_cli("wal", "verify", "--data-dir", data_dir)
    assert after_stop.returncode == 0, describe(after_stop)
    assert after_stop.stdout.rstrip().endswith("ok"), describe(after_stop)


def test_wal_verify_reports_a_snapshot_with_a_corrupted_body_as_damaged(server, run_cli, data_dir):
    take_snapshot(run_cli, data_dir)
    assert server.stop() == 0
    snapshot = snapshot_files(data_dir)[-1]
    content = bytearray(snapshot.read_bytes())
    body_length = len(content) - SNAPSHOT_HEADER_BYTES
    assert body_length > 0, f"{snapshot} has no body to corrupt ({len(content)} bytes)"
    content[SNAPSHOT_HEADER_BYTES + body_length // 2] ^= 0xFF
    snapshot.write_bytes(bytes(content))

    result = run_cli("wal", "verify", "--data-dir", data_dir)
    assert_refused(result)
    assert "DAMAGED" in output(result), describe(result)
    assert not result.stdout.rstrip().endswith("ok"), describe(result)


@pytest.mark.parametrize("while_serving", [True, False], ids=["while-serving", "stopped"])
def test_wal_dump_exits_0(server, run_cli, data_dir, while_serving):
    for index in range(3):  # records to print
        assert server.request("POST", "/v1/auth/register", json={"email": f"dump{index}@example.com", "password": "correct horse battery staple",
                                                                 "name": "D", "role": "guest"}).status_code == 201
    take_snapshot(run_cli, data_dir)
    if not while_serving:
        assert server.stop() == 0
    result = run_cli("wal", "dump", "--data-dir", data_dir)
    assert result.returncode == 0, describe(result)
    # `--from 0` is the start too (it crashed on an arithmetic overflow); a negative limit is refused in words.
    from_zero = run_cli("wal", "dump", "--from", "0", "--limit", "3", "--data-dir", data_dir)
    assert len(result.stdout.splitlines()) >= 3, describe(result)
    # Readable enough to find a record to restore up to: each event named with the id it changes, the time to the ms.
    assert "what=[Accounts.registered usr_" in result.stdout and "passwordHash" not in result.stdout, describe(result)
    assert re.search(r"time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", result.stdout), describe(result)
    assert from_zero.returncode == 0 and from_zero.stdout.splitlines() == result.stdout.splitlines()[:3], describe(from_zero)
    negative = run_cli("wal", "dump", "--limit", "-1", "--data-dir", data_dir)
    assert negative.returncode != 0 and "--limit" in output(negative) and "Program crashed" not in output(negative), describe(negative)


# --- restore --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags", [[], ["--snapshot", "0", "--until", "0"]], ids=["neither-snapshot-nor-until", "both-snapshot-and-until"]
)
def test_restore_needs_exactly_one_of_snapshot_and_until(run_cli, data_dir, flags):
    take_snapshot(run_cli, data_dir)  # offline: there is state that a wrong restore could move
    before = snapshot_files(data_dir)
    result = run_cli("restore", *flags, "--data-dir", data_dir)
    assert_refused(result)
    assert "usage" in output(result).lower(), describe(result)
    assert not list(data_dir.glob("pre-restore-*")), "a refused restore moved the state"
    assert snapshot_files(data_dir) == before


def test_restore_to_a_snapshot_keeps_the_previous_state_aside_and_the_server_starts_on_it(server_factory, run_cli, data_dir):
    first = server_factory(data_dir, name="before-restore").start()
    take_snapshot(run_cli, data_dir)
    assert first.stop() == 0
    before = [path.name for path in snapshot_files(data_dir)]
    lsn = snapshot_lsn(snapshot_files(data_dir)[-1])

    result = run_cli("restore", "--snapshot", lsn, "--data-dir", data_dir)
    assert result.returncode == 0, describe(result)
    assert "restored through LSN" in output(result), describe(result)
    kept = sorted(data_dir.glob("pre-restore-*"))
    assert len(kept) == 1, f"expected one pre-restore-* in {sorted(p.name for p in data_dir.iterdir())}"
    assert (kept[0] / "snapshots").is_dir(), f"{kept[0]} has no snapshots/: {sorted(p.name for p in kept[0].iterdir())}"
    assert sorted(path.name for path in (kept[0] / "snapshots").glob("*.snapshot")) == before

    after = server_factory(data_dir, name="after-restore").start()
    assert_live_and_ready(after)


def test_restore_while_the_server_runs_is_refused_as_in_use(server, run_cli, data_dir):
    take_snapshot(run_cli, data_dir)
    lsn = snapshot_lsn(snapshot_files(data_dir)[-1])
    result = run_expecting_exit(run_cli, "restore", "--snapshot", lsn, "--data-dir", data_dir)
    assert_refused(result)
    assert "in use" in output(result), describe(result)
    assert not list(data_dir.glob("pre-restore-*")), "restore moved state from under a running server"
    assert server.running
    assert_live_and_ready(server)


@pytest.mark.parametrize("command", [["check"], ["snapshot"], ["wal", "verify"], ["wal", "dump"], ["restore", "--until", "5"]])
def test_a_mistyped_data_directory_is_refused_and_left_uncreated(run_cli, tmp_path, command):
    """These read or rebuild existing state: on a path with no Roost data they said "ok" and created a
    directory (a check of the wrong path reported green)."""
    missing = tmp_path / "no-such-data"
    result = run_cli(*command, "--data-dir", missing)
    assert result.returncode != 0, describe(result)
    assert "no data directory" in output(result), describe(result)
    assert not missing.exists(), f"{command} created {missing}"


def test_a_port_in_use_is_refused_naming_the_address(run_cli, tmp_path):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "data"
        data.mkdir()
        result = run_cli("serve", "--port", port, "--data-dir", data, timeout=60)
    assert result.returncode != 0, describe(result)
    assert f"cannot listen on 127.0.0.1:{port}" in output(result), describe(result)


def test_wal_verify_accepts_the_gap_a_repair_leaves_below_a_snapshot(server_factory, run_cli, data_dir):
    """`serve --repair` cuts mid-log damage; with a snapshot above the cut, the log restarts above the
    snapshot, leaving a gap of LSNs the snapshot covers. Start-up accepts that gap; `wal verify` refused it
    for good, although the directory is healthy."""
    from accounts_e2e import ACCOUNTS_ENV
    server = server_factory(data_dir, name="before", env=ACCOUNTS_ENV).start()
    for index in range(40):
        assert server.request("POST", "/v1/auth/register", json={"email": f"gap{index}@example.com", "password": "correct horse battery staple",
                                                                 "name": "G", "role": "guest"}).status_code == 201
    take_snapshot(run_cli, data_dir)
    assert server.stop() == 0
    segment = sorted((data_dir / "wal").glob("*.wal"))[0]
    content = bytearray(segment.read_bytes())
    content[len(content) // 3] ^= 0xFF  # a record in the middle, with valid ones after it
    segment.write_bytes(bytes(content))
    refused = run_cli("wal", "verify", "--data-dir", data_dir)
    assert_refused(refused)

    repaired = server_factory(data_dir, name="repaired", env=ACCOUNTS_ENV, extra_args=["--repair"]).start()
    assert repaired.request("POST", "/v1/auth/register", json={"email": "after@example.com", "password": "correct horse battery staple",
                                                              "name": "A", "role": "guest"}).status_code == 201
    repaired.kill()  # no shutdown snapshot to prune the cut segment: the gap stays, as after a crash
    result = run_cli("wal", "verify", "--data-dir", data_dir)
    assert result.returncode == 0, describe(result)
    assert "covered by snapshot" in result.stdout and result.stdout.rstrip().endswith("ok"), describe(result)


def test_check_reads_a_torn_tail_without_cutting_it(server_factory, run_cli, data_dir):
    """`roost check` is what an operator runs on a crashed node's disk before deciding anything: it must leave
    the directory as the crash did. It cut a torn tail (and wrote a `.broken` copy) as start-up does."""
    from accounts_e2e import ACCOUNTS_ENV
    server = server_factory(data_dir, name="before", env=ACCOUNTS_ENV).start()
    for index in range(5):
        assert server.request("POST", "/v1/auth/register", json={"email": f"torn{index}@example.com", "password": "correct horse battery staple",
                                                                 "name": "T", "role": "guest"}).status_code == 201
    server.kill()
    segment = sorted((data_dir / "wal").glob("*.wal"))[-1]
    content = bytearray(segment.read_bytes())
    end = 40  # past the segment header: frames of a 21-byte header (payload length first) and the payload
    while end + 21 <= len(content) and content[end + 8] != 0:  # a zero type byte: never-written space
        end += 21 + int.from_bytes(content[end:end + 4], "little")
    content[end:end + 11] = b"\xab" * 11  # the first bytes of a frame that never finished
    segment.write_bytes(bytes(content))
    files_before = sorted(path.name for path in data_dir.rglob("*"))
    result = run_cli("check", "--data-dir", data_dir, env=ACCOUNTS_ENV)
    assert result.returncode == 0, describe(result)
    assert "torn write" in result.stdout and "left as it is" in result.stdout, describe(result)
    assert segment.read_bytes() == bytes(content), "check changed the segment"
    assert sorted(path.name for path in data_dir.rglob("*")) == files_before, "check added or removed files"
    # Start-up still cuts it, keeping a copy, and serves every record before it.
    after = server_factory(data_dir, name="after", env=ACCOUNTS_ENV).start()
    assert list((data_dir / "wal").glob("*.broken")), "start-up keeps the cut bytes"
    assert after.request("POST", "/v1/auth/login", json={"email": "torn4@example.com", "password": "correct horse battery staple"}).status_code == 200


def test_check_is_refused_while_a_server_holds_the_directory(server, run_cli, data_dir):
    """The check reads offline, holding the directory's lock shared so no server starts meanwhile: a running
    server's lock refuses it, naming the process."""
    result = run_expecting_exit(run_cli, "check", "--data-dir", data_dir)
    assert_refused(result)
    assert f"process {server.pid} holds" in output(result), describe(result)
