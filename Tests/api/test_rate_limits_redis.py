"""Rate limits shared through a real Redis: two API processes count against one limit, and
when Redis dies the API keeps serving on in-process limits, returning to Redis when it is back."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from accounts_e2e import ACCOUNTS_ENV, login, unique_email
from roost_e2e import assert_problem, free_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed (make test installs it)")


class PrivateRedis:
    """A redis-server of this test's own, so it can be stopped and started again on one port."""

    def __init__(self, workdir):
        self.port = free_port()
        self.workdir = workdir
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        return self

    def stop(self):
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def keys(self, pattern="*"):
        return subprocess.run(["redis-cli", "-p", str(self.port), "--scan", "--pattern", pattern], capture_output=True, text=True).stdout.split()


@pytest.fixture
def redis(workdir):
    server = PrivateRedis(workdir).start()
    yield server
    server.stop()


def test_two_api_processes_share_one_limit(server_factory, tmp_path, redis):
    env = {**ACCOUNTS_ENV, "ROOST_RATE_LIMIT_AUTH_PER_MINUTE": "4", "ROOST_REDIS_URL": redis.url}
    first = server_factory(tmp_path / "a", env=env, name="first").start()
    second = server_factory(tmp_path / "b", env=env, name="second").start()
    email = unique_email()
    assert [login(server, email).status_code for server in (first, second, first, second)] == [401] * 4
    assert_problem(login(first, email), 429, "rate_limited")
    assert_problem(login(second, email), 429, "rate_limited")
    assert any(key.startswith("roost:") for key in redis.keys()), "the limiter's counters live in Redis"


def test_the_api_keeps_limiting_when_redis_dies_and_returns_to_it(server_factory, data_dir, redis):
    env = {**ACCOUNTS_ENV, "ROOST_RATE_LIMIT_AUTH_PER_MINUTE": "3", "ROOST_REDIS_URL": redis.url}
    server = server_factory(data_dir, env=env).start()
    assert login(server, unique_email()).status_code == 401
    redis.stop()
    # Redis is gone: sign-in still answers (no 5xx), and the in-process fallback still limits.
    email = unique_email()
    statuses = [login(server, email).status_code for _ in range(4)]
    assert statuses[:3] == [401, 401, 401] and statuses[3] == 429, statuses
    assert server.get("/health/ready").status_code == 200
    redis.start()
    # Back on Redis (after the breaker's cool-down): counters appear in Redis again.
    deadline = time.monotonic() + 30
    while not redis.keys("roost:*"):
        assert time.monotonic() < deadline, "the limiter never went back to Redis"
        login(server, unique_email())
        time.sleep(0.5)
