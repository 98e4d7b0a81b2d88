"""Anchor for sign-ins: raw bcrypt verifications per second at a cost, on N processes (PyPI
`bcrypt`, the OpenBSD implementation in C/Rust), for SECONDS. Prints `RESULT bcrypt cost=C
processes=N verifies_per_s=R`."""

import multiprocessing
import sys
import time

import bcrypt


def worker(args):
    cost, seconds = args
    password = b"correct horse battery staple"
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(rounds=cost))
    count, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        assert bcrypt.checkpw(password, hashed)
        count += 1
    return count / (time.monotonic() - start)


if __name__ == "__main__":
    cost, processes, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    with multiprocessing.Pool(processes) as pool:
        rates = pool.map(worker, [(cost, seconds)] * processes)
    print(f"RESULT bcrypt cost={cost} processes={processes} verifies_per_s={sum(rates):.1f}")
