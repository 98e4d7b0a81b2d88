# Roost — the two commands that matter are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# What building and testing need from Debian; installed only when missing.
APT_PACKAGES := libhiredis-dev libcurl4-openssl-dev libssl-dev zlib1g-dev redis-server redis-tools wrk python3-venv curl

.PHONY: help deps build run test crash-test bench clean

help:
	@echo "make run         build and start Roost on http://127.0.0.1:$${ROOST_PORT:-8080} (state in $${ROOST_DATA_DIR:-data/state})"
	@echo "make test        the whole test suite (Swift tests + end-to-end pytest) against throwaway local services"
	@echo "make crash-test  the long crash sweeps (1,000 SIGKILL rounds of the WAL, 200 of a booking storm over HTTP)"
	@echo "make bench       benchmarks, each beside its anchor, as ratios"

deps:
	@bash scripts/deps.sh $(APT_PACKAGES)

build: deps
	swift build -c release --product roost

run: build
	./.build/release/roost serve

test: deps
	bash scripts/test.sh

crash-test: deps
	swift build --build-tests
	ROOST_CRASH_ROUNDS=$${ROOST_CRASH_ROUNDS:-1000} swift test --skip-build --filter 'CrashTests'
	swift build -c release --product roost
	python3 -m venv .venv-test && .venv-test/bin/pip install -q --disable-pip-version-check -r Tests/api/requirements.txt
	ROOST_BIN="$$PWD/.build/release/roost" ROOST_BOOKING_CRASH_ROUNDS=$${ROOST_BOOKING_CRASH_ROUNDS:-200} \
		.venv-test/bin/python -m pytest -q Tests/api/test_booking_crash.py

bench: deps
	bash scripts/bench.sh

clean:
	rm -rf .build .build-* Benchmarks/.build .venv-test
