"""/want under load through the production server, against a bare Bolt app behind the same server.

For each database engine: a database of the benchmark's own is seeded with N open posts (bulk
insert) and with Slack members (joined through the membership service); the fake Slack runs in
a child process on loopback. Then, for kmbot (the Procfile's ``web:`` command as is) and for the
bare app (the same command serving ``bench.bare_app:wsgi()``): start the server, wait until
/healthz answers, send signed ``/want <text>`` requests from C concurrent clients (keep-alive
connections, each sending its next request as soon as the last is acknowledged), and record each
acknowledgement's latency (the HTTP response time). Also: start-up time (kmbot loads its match
index before serving), the server's resident memory (master and workers, peak over the run), and
how many of the posts the bot had stored by the end of the load.

Bounded: at most --requests requests and --seconds seconds per server; loopback only.

Usage: python bench/bench_requests.py [--posts 100000] [--clients 20] [--requests 2000]
           [--db sqlite,postgresql] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_sdk.signature import SignatureVerifier  # noqa: E402

from bench.corpus import PostGenerator  # noqa: E402
from bench.support import (  # noqa: E402
    ENGINES,
    ROOT,
    bench_database,
    join_slack_members,
    machine_note,
    percentile,
    seed_open_posts,
    table,
)

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
TEAM = "T0KMBOT"
MARKET = "C0MARKET"
KMBOT_TARGET = "'bot.app:wsgi_from_env()'"
BARE_TARGET = "'bench.bare_app:wsgi()'"


# ------------------------------------------------------------------ the fake Slack, in a child


def serve_fake(count: int) -> int:
    """Child process: run the fake Slack, print its URL and response URLs, stop at stdin EOF."""
    from bot.devtools.fakeslack import FakeSlack

    fake = FakeSlack(bot_token=TOKEN).start()
    urls = [fake.new_response_url(user=f"U{n}", channel=MARKET, max_uses=5) for n in range(count)]
    print(json.dumps({"url": fake.url, "response_urls": urls}), flush=True)
    sys.stdin.read()
    fake.stop()
    return 0


@dataclass
class FakeSlackProcess:
    """The fake Slack child process and what it told us."""

    proc: subprocess.Popen[str]
    url: str
    response_urls: list[str]

    @classmethod
    def start(cls, count: int) -> FakeSlackProcess:
        """Start it and read its URLs."""
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake", str(count)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            raise RuntimeError("the fake Slack did not start")
        info = json.loads(line)
        return cls(proc, info["url"], info["response_urls"])

    def stop(self) -> None:
        """Close its stdin and wait for it (kill it if it hangs)."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------ the server


def free_port() -> int:
    """An ephemeral loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def procfile_web(target: str = KMBOT_TARGET) -> str:
    """The Procfile's web command, optionally serving another WSGI target."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            command = line.split(":", 1)[1].strip()
            return command.replace(KMBOT_TARGET, target)
    raise RuntimeError("no web: line in the Procfile")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    """A gunicorn server started by the benchmark (only this process group is ever stopped)."""

    proc: subprocess.Popen[bytes]
    port: int
    started_s: float = 0.0
    peak_total_kb: int = 0
    worker_hwm_kb: dict[int, int] = field(default_factory=dict)
    master_hwm_kb: int = 0
    _sampling: bool = False

    @classmethod
    def start(cls, target: str, env: dict[str, str], ready_timeout: float) -> Server:
        """Start the Procfile's web command and wait until /healthz answers."""
        port = free_port()
        full_env = {**os.environ, **env, "PORT": str(port)}
        full_env["PATH"] = f"{Path(sys.executable).parent}:{full_env.get('PATH', '')}"
        command = procfile_web(target).replace("0.0.0.0", "127.0.0.1")  # loopback only
        started = time.perf_counter()
        with open(env["KMBOT_BENCH_LOG"], "ab") as log:  # the child keeps its own handle
            proc = subprocess.Popen(
                ["bash", "-c", "exec " + command],
                cwd=ROOT,
                env=full_env,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        server = cls(proc, port)
        deadline = started + ready_timeout
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited ({proc.returncode}); see {env['KMBOT_BENCH_LOG']}"
                )
            if server._healthy():
                server.started_s = time.perf_counter() - started
                return server
            time.sleep(0.2)
        server.stop()
        raise RuntimeError(f"the server was not ready within {ready_timeout:.0f} s")

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def sample_memory(self) -> None:
        """Record the resident memory of the master and its workers now."""
        pids = [self.proc.pid, *_children(self.proc.pid)]
        total = sum(_status_kb(p, "VmRSS") for p in pids)
        self.peak_total_kb = max(self.peak_total_kb, total)
        self.master_hwm_kb = max(self.master_hwm_kb, _status_kb(self.proc.pid, "VmHWM"))
        for pid in pids[1:]:
            self.worker_hwm_kb[pid] = max(self.worker_hwm_kb.get(pid, 0), _status_kb(pid, "VmHWM"))

    def start_sampling(self) -> threading.Thread:
        """Sample memory twice a second until ``stop_sampling``."""
        self._sampling = True

        def loop() -> None:
            while self._sampling:
                self.sample_memory()
                time.sleep(0.5)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def stop_sampling(self) -> None:
        """Stop the sampler (after one last sample)."""
        self._sampling = False
        self.sample_memory()

    def stop(self) -> None:
        """Stop gunicorn (its own process group), forcefully if it lingers."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# ------------------------------------------------------------------ the load


@dataclass
class Load:
    """What the clients saw."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


def run_load(port: int, requests: list[tuple[str, str, str]], clients: int, seconds: float) -> Load:
    """Send (user, text, response_url) as signed /want requests from ``clients`` threads."""
    verifier = SignatureVerifier(SECRET)
    load = Load()
    lock = threading.Lock()
    next_index = [0]
    deadline = time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                i = next_index[0]
                if i >= len(requests):
                    break
                next_index[0] += 1
            user, text, response_url = requests[i]
            body = urlencode(
                {
                    "token": "unused",
                    "team_id": TEAM,
                    "channel_id": MARKET,
                    "user_id": user,
                    "command": "/want",
                    "text": text,
                    "response_url": response_url,
                    "trigger_id": f"{i}.bench",
                    "api_app_id": "A0KMBOT",
                }
            )
            ts = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": str(verifier.generate_signature(timestamp=ts, body=body)),
            }
            started = time.perf_counter()
            try:
                conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if ok:
                    load.latencies_ms.append(elapsed)
                else:
                    load.errors += 1
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    load.seconds = time.perf_counter() - started
    return load


# ------------------------------------------------------------------ one engine


def _stored_slack_posts(url: str) -> int:
    from sqlalchemy import func, select

    from storage import db
    from storage.models import Post

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(Post).where(Post.source == "slack")
                ).scalar()
                or 0
            )
    finally:
        engine.dispose()


def bench_engine(engine: str, args: argparse.Namespace, log: Path) -> list[dict[str, Any]]:
    """Seed one database and measure kmbot and the bare app against it."""
    results: list[dict[str, Any]] = []
    total = args.requests + args.warmup
    per_member = 5  # the flip chart's cap on open wants: every request publishes a post
    users = [f"UB{n:05d}" for n in range(total // per_member + 2)]
    gen = PostGenerator(99)
    with bench_database(engine, "requests") as url:
        t = time.perf_counter()
        seed_open_posts(url, args.posts)
        join_slack_members(url, users, TEAM)
        print(
            f"  [{engine}] seeded {args.posts:,} open posts and {len(users):,} members in "
            f"{time.perf_counter() - t:.1f} s",
            flush=True,
        )
        fake = FakeSlackProcess.start(total * 2)
        try:
            kmbot = f"'{args.target}'" if args.target else KMBOT_TARGET
            for name, target in (("kmbot", kmbot), ("bare Bolt app", BARE_TARGET)):
                env = {
                    "DATABASE_URL": url,
                    "SLACK_BOT_TOKEN": TOKEN,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": fake.url,
                    "KMBOT_MARKETPLACE_CHANNEL": MARKET,
                    "KMBOT_BENCH_LOG": str(log),
                }
                if args.workers:
                    env["WEB_CONCURRENCY"] = str(args.workers)
                server = Server.start(target, env, args.ready_timeout)
                try:
                    server.sample_memory()
                    before = _stored_slack_posts(url)
                    offset = len(results) * total
                    requests = [
                        (
                            users[n // per_member],
                            gen.text("want"),
                            fake.response_urls[(offset + n) % len(fake.response_urls)],
                        )
                        for n in range(total)
                    ]
                    run_load(server.port, requests[: args.warmup], min(args.clients, 4), 60)
                    server.start_sampling()
                    load = run_load(
                        server.port, requests[args.warmup :], args.clients, args.seconds
                    )
                    server.stop_sampling()
                    stored = _stored_slack_posts(url) - before
                finally:
                    server.stop()
                lat = load.latencies_ms
                results.append(
                    {
                        "engine": engine,
                        "app": name,
                        "requests": len(lat),
                        "errors": load.errors,
                        "rps": len(lat) / load.seconds if load.seconds else 0.0,
                        "p50": percentile(lat, 50),
                        "p95": percentile(lat, 95),
                        "p99": percentile(lat, 99),
                        "max": max(lat, default=0.0),
                        "start_s": server.started_s,
                        "peak_total_mb": server.peak_total_kb / 1024,
                        "worker_hwm_mb": [kb / 1024 for kb in server.worker_hwm_kb.values()],
                        "master_hwm_mb": server.master_hwm_kb / 1024,
                        "stored": stored,
                    }
                )
                print(
                    f"  [{engine}] {name}: {len(lat):,} acks, p99 {percentile(lat, 99):.1f} ms",
                    flush=True,
                )
        finally:
            fake.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000, help="open posts in the store")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per app")
    parser.add_argument("--warmup", type=int, default=40, help="unmeasured requests first")
    parser.add_argument("--seconds", type=float, default=180, help="time limit per app")
    parser.add_argument("--db", default=",".join(ENGINES), help="sqlite,postgresql")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="WEB_CONCURRENCY (default: the Procfile's own default)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=300,
        help="seconds to wait for a server to answer /healthz",
    )
    parser.add_argument(
        "--target", default="", help="serve this WSGI target instead of kmbot's (to try a variant)"
    )
    parser.add_argument("--log", default="", help="server log file (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--serve-fake", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        return serve_fake(args.serve_fake)
    # Stopped from outside (a timeout): unwind, so the servers and the database are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick:
        args.posts, args.clients, args.requests, args.warmup = 300, 4, 40, 4
        args.seconds = 60
    log = Path(args.log) if args.log else Path(f"/tmp/kmbot-bench-requests-{os.getpid()}.log")
    print(f"Requests benchmark: signed /want through `{procfile_web()}`")
    print(
        f"{args.posts:,} open posts, {args.clients} concurrent clients, {args.requests:,} "
        f"requests per app (after {args.warmup} warm-up). Server log: {log}"
    )
    print(f"Machine: {machine_note()}")
    results: list[dict[str, Any]] = []
    for engine in [e.strip() for e in args.db.split(",") if e.strip()]:
        results.extend(bench_engine(engine, args, log))
    print()
    print("Acknowledgement latency (ms), kmbot beside the bare Bolt app:")
    rows = []
    for r in results:
        bare = next(b for b in results if b["engine"] == r["engine"] and b["app"] != "kmbot")
        ratio = r["p99"] / bare["p99"] if bare["p99"] else 0.0
        rows.append(
            [
                f"{r['engine']}: {r['app']}",
                r["requests"],
                r["errors"],
                r["rps"],
                r["p50"],
                r["p95"],
                r["p99"],
                r["max"],
                f"{ratio:.2f}x",
            ]
        )
    print(
        table(
            ["server", "acks", "errors", "req/s", "p50", "p95", "p99", "max", "p99 / bare p99"],
            rows,
        )
    )
    print()
    print("Server (gunicorn master + workers):")
    rows = []
    for r in results:
        workers = ", ".join(f"{m:.0f}" for m in r["worker_hwm_mb"])
        rows.append(
            [
                f"{r['engine']}: {r['app']}",
                r["start_s"],
                r["peak_total_mb"],
                r["master_hwm_mb"],
                workers,
                r["stored"],
            ]
        )
    print(
        table(
            [
                "server",
                "ready after s",
                "peak RSS total MB",
                "master MB",
                "worker peak MB (each)",
                "posts stored",
            ],
            rows,
        )
    )
    print()
    print(
        "Targets at 100,000 open posts: kmbot ack p99 <= 250 ms and <= 3x the bare app's p99; "
        "server RSS <= 300 MB."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
