"""The Engine API server's own share of a `docker` command, without the client's 20 ms.

    python bench/api_exchange.py [--rounds 2000] [--socket PATH:PID ...]

Each round: for every server in turn, what the docker CLI does for `network ls` — connect,
`HEAD /_ping`, `GET /v1.41/networks` on the same connection (keep-alive), close — timed
from this process (median, p90), and each server's CPU time (user + system, from
/proc/PID/stat) per exchange. Interleaved rounds, so load moves every server alike.

Without --socket: `pynet system service` in a throwaway sandbox (this checkout) and the
bench dockerd (bench/setup_anchors.sh; its pidfile /tmp/pynet-bench/dockerd.pidfile).
With --socket: those servers only (e.g. an older pynet's, to compare two commits).
Prints a table; writes nothing under results/ (bench_api.py gives the whole-command figure).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402
from bench_api import ApiServer  # noqa: E402

DOCKERD_SOCK = "/tmp/pynet-bench/docker.sock"
DOCKERD_PIDFILE = "/tmp/pynet-bench/dockerd.pidfile"
UA = b"User-Agent: Docker-Client/20.10.24+dfsg1 (linux)\r\n"
PING = b"HEAD /_ping HTTP/1.1\r\nHost: docker\r\n" + UA + b"\r\n"
LIST = b"GET /v1.41/networks HTTP/1.1\r\nHost: docker\r\n" + UA + b"\r\n"


def cpu_seconds(pid: int) -> float:
    """User + system time of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _answer(s: socket.socket, head_only: bool) -> None:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("api_exchange: the server closed mid-answer")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    if head_only:
        return
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += s.recv(65536)


def exchange(path: str) -> float:
    """One CLI-like exchange on a new connection; its wall time in seconds."""
    t0 = time.perf_counter()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall(PING)
        _answer(s, head_only=True)
        s.sendall(LIST)
        _answer(s, head_only=False)
    finally:
        s.close()
    return time.perf_counter() - t0


def measure(servers: dict[str, tuple[str, int]], rounds: int) -> list[list[str]]:
    for path, _ in servers.values():  # warm-up: caches, first imports
        for _ in range(20):
            exchange(path)
    lat: dict[str, list[float]] = {name: [] for name in servers}
    cpu0 = {name: cpu_seconds(pid) for name, (_, pid) in servers.items()}
    for _ in range(rounds):
        for name, (path, _) in servers.items():
            lat[name].append(exchange(path))
    rows = []
    for name, (_, pid) in servers.items():
        s = sorted(lat[name])
        cpu = (cpu_seconds(pid) - cpu0[name]) / rounds
        p90 = s[int(0.9 * (len(s) - 1))]
        rows.append([name, f"{statistics.median(s) * 1e3:.3f}", f"{p90 * 1e3:.3f}", f"{cpu * 1e3:.3f}"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--socket", action="append", default=[], help="PATH:PID of a server to measure (repeatable)")
    args = ap.parse_args()
    if args.socket:
        servers = {p: (p, int(pid)) for p, _, pid in (a.rpartition(":") for a in args.socket)}
        rows = measure(servers, args.rounds)
    else:
        h.require_root()
        with h.PynetSandbox("apix") as pn:
            srv = ApiServer(pn)
            try:
                servers = {"pynet": (srv.sock, srv.proc.pid)}
                if os.path.exists(DOCKERD_PIDFILE):
                    servers["dockerd"] = (DOCKERD_SOCK, int(Path(DOCKERD_PIDFILE).read_text().strip()))
                rows = measure(servers, args.rounds)
            finally:
                srv.stop()
    print(f"{args.rounds} interleaved rounds of connect + HEAD /_ping + GET /v1.41/networks; load {h.load_average()}\n")
    print(h.md_table(["server", "median ms", "p90 ms", "server CPU ms / exchange"], rows))


if __name__ == "__main__":
    main()
