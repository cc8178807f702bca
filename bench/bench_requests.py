"""/want under load through the production processes, beside a bare Bolt app on the same server.

For each database engine, in one run: a database of the benchmark's own is seeded with N open
posts (bulk insert) and with Slack members, one per request (joined through the membership
service); the fake Slack runs in a child process on loopback and records when each call reached
it. Then:

- the bare Bolt app (``bench/bare_app.py``, the Procfile's ``web:`` command serving
  ``bench.bare_app:wsgi()``) is started and measured on every scenario (acks only);
- kmbot is started as the Procfile runs it: the ``web:`` command as is (it only acknowledges)
  and the ``posting:`` command (``kmbot posting``) as a separate process, both with the same
  environment, and measured on every scenario; after each scenario the benchmark waits until
  /healthz reports no post queued and nothing owed to Slack (bounded by --drain-timeout).

Scenarios (distinct members: one ``/want`` per member; each client sends its next request as soon
as its last is acknowledged):

- ``steady``: C concurrent clients for C in --clients (default 6 and 30), --requests each;
- ``burst``: the workshop burst, --burst posts from as many members, --burst-clients at a time,
  on the same store (the N seeded open posts plus the steady scenarios' posts).

Figures per scenario: requests sent, acked (HTTP 200), refused (non-200, or an ephemeral saying
busy / try again at the fake), posts stored (``Post.source == "slack"``, after the drain),
confirmations received on the response URLs (exactly one per post expected; duplicates counted),
lost (acked, never stored) and duplicated posts; ack latency p50/p95/p99/max and p99 / bare p99;
card visible latency (from the ack to the card's chat.postMessage reaching the fake) p50/p99/max;
posting throughput (posts fully processed, i.e. card and confirmation received, per second of the
time during which at least one post was between its request and its last message).

Usage: python bench/bench_requests.py [--posts 100000] [--clients 6,30] [--requests 600]
           [--burst 500] [--burst-clients 20] [--db sqlite,postgresql] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

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
BARE_TARGET = "'bench.bare_app:wsgi()'"
# What a refusal for load looked like (the old "kmbot is very busy, try again" reply).
REFUSAL = re.compile(r"\bbusy\b|try again", re.IGNORECASE)
CONFIRMATION = re.compile(r"posted as \*?(?:Want|Offer) #(\d+)")
CARD = re.compile(r"^(?:Want|Offer) #(\d+)\b")
QUEUED = re.compile(r"safely queued")


# ------------------------------------------------------------------ the fake Slack, in a child


def serve_fake() -> int:
    """Child process: run the fake Slack with two bench hooks, print its URL, stop at stdin EOF.

    ``POST /bench/response_urls`` ({"users": [...]}) makes one response URL per user;
    ``GET /bench/calls?since=K`` returns the calls recorded from the K-th on, each with the time
    it reached the fake (``at``, time.time() in this process: the same clock as the parent's)."""
    from bot.devtools.fakeslack import FakeSlack
    from bot.devtools.fakeslack.server import Request, Response

    fake = FakeSlack(bot_token=TOKEN).start()

    def response_urls(request: Request) -> Response:
        users = request.json()["users"]
        urls = [fake.new_response_url(user=u, channel=MARKET, max_uses=5) for u in users]
        return Response.json({"urls": urls})

    def calls(request: Request) -> Response:
        since = int(request.query.get("since", "0"))
        recorded = fake.calls
        out = []
        for call in recorded[since:]:
            params = call.params
            whole = json.dumps(params, default=str)
            out.append(
                {
                    "method": call.method,
                    "at": call.at,
                    "status": call.status,
                    "url_id": params.get("response_url_id"),
                    "channel": params.get("channel"),
                    "thread": bool(params.get("thread_ts")),
                    "text": str(params.get("text") or "")[:200],
                    "refusal": bool(REFUSAL.search(whole)),
                    "confirms": (m.group(1) if (m := CONFIRMATION.search(whole)) else None),
                    "queued": bool(QUEUED.search(whole)),
                }
            )
        return Response.json({"calls": out, "next": len(recorded)})

    fake.add_route("POST", "/bench/response_urls", response_urls)
    fake.add_route("GET", "/bench/calls", calls)
    print(json.dumps({"url": fake.url, "origin": fake.origin}), flush=True)
    sys.stdin.read()
    fake.stop()
    return 0


@dataclass
class FakeSlackProcess:
    """The fake Slack child process, and the calls it has recorded so far."""

    proc: subprocess.Popen[str]
    url: str
    origin: str
    calls: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls) -> FakeSlackProcess:
        """Start it and read its URL."""
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake"],
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
        return cls(proc, info["url"], info["origin"])

    def _ask(self, method: str, path: str, payload: Any = None) -> Any:
        parts = urlsplit(self.origin)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            body = json.dumps(payload).encode() if payload is not None else None
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"fake Slack hook {path}: HTTP {response.status}")
            return json.loads(data)
        finally:
            conn.close()

    def response_urls(self, users: list[str]) -> list[str]:
        """One fresh response URL per user (fresh: Slack's live 30 minutes)."""
        urls: list[str] = []
        for start in range(0, len(users), 1000):
            urls += self._ask(
                "POST", "/bench/response_urls", {"users": users[start : start + 1000]}
            )["urls"]
        return urls

    def fetch(self) -> list[dict[str, Any]]:
        """Every call recorded so far (new ones fetched from the child)."""
        answer = self._ask("GET", f"/bench/calls?since={len(self.calls)}")
        self.calls.extend(answer["calls"])
        return self.calls

    def stop(self) -> None:
        """Close its stdin and wait for it (kill it if it hangs)."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------ the processes


def free_port() -> int:
    """An ephemeral loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def procfile(kind: str) -> str:
    """The Procfile's command for a process type (``web``, ``posting``)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(kind + ":"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"no {kind}: line in the Procfile")


def procfile_web(target: str | None = None) -> str:
    """The Procfile's web command, optionally serving another WSGI target (its last argument,
    quoted, is the target)."""
    command = procfile("web")
    if target is None:
        return command
    replaced, n = re.subn(r"'[^']*'\s*$", lambda _m: target, command)
    if n != 1:
        raise RuntimeError(f"cannot find the quoted WSGI target in {command!r}")
    return replaced


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


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """Processor seconds (user + system) a process has used, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (it is not our child)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_snapshot(procs: Processes, fake: FakeSlackProcess) -> dict[str, float]:
    """Processor seconds used so far by each part of the system under test."""
    web = [procs.web.pid, *_children(procs.web.pid)]
    posting = [procs.posting.pid, *_children(procs.posting.pid)] if procs.posting else []
    return {
        "web": sum(_cpu_s(p) for p in web),
        "posting": sum(_cpu_s(p) for p in posting),
        "fake Slack": _cpu_s(fake.proc.pid),
        "PostgreSQL": sum(_cpu_s(p) for p in _postgres_pids()),
        "load generator": _cpu_s(os.getpid()),
    }


def _spawn(command: str, env: dict[str, str], stdout: Any) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, **env}
    full_env["PATH"] = f"{Path(sys.executable).parent}:{full_env.get('PATH', '')}"
    with open(env["KMBOT_BENCH_LOG"], "ab") as log:  # the child keeps its own handle
        return subprocess.Popen(
            ["bash", "-c", "exec " + command],
            cwd=ROOT,
            env=full_env,
            stdout=stdout,
            stderr=log,
            start_new_session=True,
        )


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process the benchmark started (its own process group), forcefully if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Processes:
    """The gunicorn server (and, for kmbot, the posting process) started by the benchmark."""

    web: subprocess.Popen[bytes]
    port: int
    posting: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0
    posting_started_s: float = 0.0
    peak_web_kb: int = 0
    peak_posting_kb: int = 0
    _sampling: bool = False

    @classmethod
    def start(
        cls, target: str | None, env: dict[str, str], ready_timeout: float, posting: bool
    ) -> Processes:
        """Start the Procfile's web command (and its posting command); wait until both are
        ready: /healthz answers, and ``kmbot posting`` has said it is publishing."""
        port = free_port()
        command = procfile_web(target).replace("0.0.0.0", "127.0.0.1")  # loopback only
        started = time.perf_counter()
        procs = cls(_spawn(command, {**env, "PORT": str(port)}, subprocess.DEVNULL), port)
        posting_out = Path(env["KMBOT_BENCH_LOG"] + ".posting.out")
        try:
            if posting:
                posting_out.write_text("")
                with open(posting_out, "ab") as out:
                    procs.posting = _spawn(procfile("posting"), env, out)
            deadline = started + ready_timeout
            while time.perf_counter() < deadline:
                for proc in (procs.web, procs.posting):
                    if proc is not None and proc.poll() is not None:
                        raise RuntimeError(
                            f"a process exited ({proc.returncode}); see {env['KMBOT_BENCH_LOG']}"
                        )
                if not procs.started_s and procs.health() is not None:
                    procs.started_s = time.perf_counter() - started
                if (
                    posting
                    and not procs.posting_started_s
                    and "publishing" in posting_out.read_text()
                ):
                    procs.posting_started_s = time.perf_counter() - started
                if procs.started_s and (procs.posting_started_s or not posting):
                    return procs
                time.sleep(0.2)
            raise RuntimeError(f"not ready within {ready_timeout:.0f} s")
        except BaseException:
            procs.stop()
            raise

    def health(self) -> dict[str, Any] | None:
        """/healthz's JSON, or None if it does not answer 200."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            data = response.read()
            conn.close()
            return json.loads(data) if response.status == 200 else None
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def sample_memory(self) -> None:
        """Record the resident memory of gunicorn (master and workers) and of the poster."""
        pids = [self.web.pid, *_children(self.web.pid)]
        self.peak_web_kb = max(self.peak_web_kb, sum(_status_kb(p, "VmRSS") for p in pids))
        if self.posting is not None:
            self.peak_posting_kb = max(self.peak_posting_kb, _status_kb(self.posting.pid, "VmRSS"))

    def start_sampling(self) -> None:
        """Sample memory twice a second until ``stop``."""
        self._sampling = True

        def loop() -> None:
            while self._sampling:
                self.sample_memory()
                time.sleep(0.5)

        threading.Thread(target=loop, daemon=True).start()

    def stop(self) -> None:
        """Stop both (only the process groups the benchmark started)."""
        self._sampling = False
        if self.posting is not None:
            _stop_group(self.posting)
        _stop_group(self.web)


# ------------------------------------------------------------------ the load


@dataclass
class Sent:
    """One request and what its client saw."""

    user: str
    text: str
    response_url: str
    sent_at: float = 0.0  # time.time() when sent
    acked_at: float = 0.0  # time.time() when the response arrived
    latency_ms: float = 0.0
    status: int = 0
    body: str = ""


def run_load(port: int, requests: list[Sent], clients: int, seconds: float) -> float:
    """Send the requests as signed /want from ``clients`` threads, each sending its next as
    soon as its last is acknowledged; returns the wall time taken."""
    verifier = SignatureVerifier(SECRET)
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
            sent = requests[i]
            body = urlencode(
                {
                    "token": "unused",
                    "team_id": TEAM,
                    "channel_id": MARKET,
                    "user_id": sent.user,
                    "command": "/want",
                    "text": sent.text,
                    "response_url": sent.response_url,
                    "trigger_id": f"{sent.user}.bench",
                    "api_app_id": "A0KMBOT",
                }
            )
            ts = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": str(verifier.generate_signature(timestamp=ts, body=body)),
            }
            sent.sent_at = time.time()
            started = time.perf_counter()
            try:
                conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
                response = conn.getresponse()
                sent.body = response.read().decode("utf-8", "replace")[:500]
                sent.status = response.status
            except (OSError, http.client.HTTPException):
                sent.status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            sent.latency_ms = (time.perf_counter() - started) * 1000
            sent.acked_at = time.time()
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return time.perf_counter() - started


def wait_drained(procs: Processes, timeout: float) -> tuple[bool, float]:
    """Wait until /healthz reports no post queued and nothing owed to Slack, twice in a row;
    (drained, seconds waited)."""
    started = time.perf_counter()
    calm = 0
    while time.perf_counter() - started < timeout:
        health = procs.health() or {}
        if health.get("posts_queued") == 0 and health.get("outbox_pending") == 0:
            calm += 1
            if calm >= 2:
                return True, time.perf_counter() - started
        else:
            calm = 0
        time.sleep(0.25)
    return False, time.perf_counter() - started


# ------------------------------------------------------------------ figures


def _union_seconds(intervals: list[tuple[float, float]]) -> float:
    """The length of the union of [start, end] intervals."""
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total


def analyze(url: str) -> None:
    """Give the planner statistics on the seeded store, as autovacuum would on a live server
    (PostgreSQL only; this machine's server runs with autovacuum off)."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import text

    from storage import db

    engine = db.make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def _slack_posts(url: str) -> dict[str, list[int]]:
    """Post ids stored from Slack, by the member's Slack user id."""
    from sqlalchemy import select

    from storage import db
    from storage.models import Member, Post

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Member.slack_user_id, Post.id)
                .join(Member, Member.id == Post.member_id)
                .where(Post.source == "slack")
            ).all()
    finally:
        engine.dispose()
    found: dict[str, list[int]] = {}
    for user, post_id in rows:
        found.setdefault(str(user), []).append(int(post_id))
    return found


def scenario_figures(
    requests: list[Sent],
    seconds: float,
    calls: list[dict[str, Any]] | None,
    posts: dict[str, list[int]] | None,
) -> dict[str, Any]:
    """Every figure of one scenario (the posting ones only with ``calls`` and ``posts``)."""
    acked = [r for r in requests if r.status == 200]
    sent = [r for r in requests if r.acked_at]
    lat = [r.latency_ms for r in acked]
    out: dict[str, Any] = {
        "sent": len(sent),
        "acked": len(acked),
        "ack_rate": len(acked) / seconds if seconds else 0.0,
        "p50": percentile(lat, 50),
        "p95": percentile(lat, 95),
        "p99": percentile(lat, 99),
        "max": max(lat, default=0.0),
    }
    refused = {id(r) for r in sent if r.status != 200 or REFUSAL.search(r.body)}
    if calls is None or posts is None:
        out["refused"] = len(refused)
        return out
    by_url = {r.response_url.rsplit("/", 1)[1]: r for r in requests}
    confirmations: dict[str, list[dict[str, Any]]] = {}
    queued = 0
    for call in calls:
        r = by_url.get(call["url_id"] or "")
        if call["method"] != "response_url" or r is None:
            continue
        if call["refusal"]:
            refused.add(id(r))
        if call["queued"]:
            queued += 1
        if call["confirms"] and call["status"] == 200:
            confirmations.setdefault(call["url_id"], []).append(call)
    cards: dict[int, float] = {}
    for call in calls:
        if call["method"] != "chat.postMessage" or call["thread"] or call["status"] != 200:
            continue
        m = CARD.match(call["text"])
        if m and call["channel"] == MARKET:
            cards.setdefault(int(m.group(1)), call["at"])
    stored = lost = duplicated = 0
    card_ms: list[float] = []
    missing_cards = 0
    busy: list[tuple[float, float]] = []
    for r in acked:
        ids = posts.get(r.user, [])
        stored += len(ids)
        if not ids:
            lost += 1
            continue
        duplicated += len(ids) - 1
        card_at = cards.get(min(ids))
        confirm = confirmations.get(r.response_url.rsplit("/", 1)[1], [])
        if card_at is None:
            missing_cards += 1
        else:
            card_ms.append((card_at - r.acked_at) * 1000)
        if card_at is not None and confirm:
            busy.append((r.sent_at, max(card_at, confirm[0]["at"])))
    confirmed = sum(1 for c in confirmations.values() if c)
    busy_s = _union_seconds(busy)
    first = min((r.sent_at for r in acked), default=0.0)
    last_card = max(
        (cards.get(min(posts[r.user])) or 0.0 for r in acked if posts.get(r.user)), default=0.0
    )
    out.update(
        refused=len(refused),
        stored=stored,
        confirmed=confirmed,
        confirm_dupes=sum(len(c) - 1 for c in confirmations.values()),
        lost=lost,
        duplicated=duplicated,
        queued_notices=queued,
        missing_cards=missing_cards,
        card_p50=percentile(card_ms, 50),
        card_p99=percentile(card_ms, 99),
        card_max=max(card_ms, default=0.0),
        throughput=len(busy) / busy_s if busy_s else 0.0,
        busy_s=busy_s,
        all_cards_s=(last_card - first) if last_card and first else 0.0,
    )
    return out


# ------------------------------------------------------------------ one engine


@dataclass(frozen=True)
class Scenario:
    """A named load: how many requests, from how many clients at a time."""

    name: str
    requests: int
    clients: int


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    """Steady at each client count, then the workshop burst."""
    steady = [Scenario(f"steady C={c}", args.requests, c) for c in args.client_levels]
    burst = [Scenario("burst", args.burst, args.burst_clients)] if args.burst else []
    return [*steady, *burst]


def bench_engine(engine: str, args: argparse.Namespace, log: Path) -> list[dict[str, Any]]:
    """Seed one database and measure the bare app, then kmbot, on every scenario."""
    plan = scenarios(args)
    gen = PostGenerator(99)
    # Distinct members everywhere: each app gets its own members for every scenario.
    members: dict[tuple[str, str], list[str]] = {}
    for app in ("bare", "kmbot"):
        members[(app, "warm-up")] = [f"U{app[0].upper()}W{n:05d}" for n in range(args.warmup)]
        for k, s in enumerate(plan):
            members[(app, s.name)] = [f"U{app[0].upper()}{k}X{n:05d}" for n in range(s.requests)]
    users = [u for group in members.values() for u in group]
    results: list[dict[str, Any]] = []
    with bench_database(engine, "requests") as url:
        t = time.perf_counter()
        seed_open_posts(url, args.posts)
        join_slack_members(url, users, TEAM)
        if args.analyze:
            analyze(url)
        print(
            f"  [{engine}] seeded {args.posts:,} open posts and {len(users):,} members in "
            f"{time.perf_counter() - t:.1f} s",
            flush=True,
        )
        fake = FakeSlackProcess.start()
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
        try:
            for app in ("bare", "kmbot"):
                kmbot = app == "kmbot"
                target = (f"'{args.target}'" if args.target else None) if kmbot else BARE_TARGET
                procs = Processes.start(target, env, args.ready_timeout, posting=kmbot)
                if kmbot:
                    print(
                        f"  [{engine}] kmbot web ready after {procs.started_s:.1f} s, "
                        f"posting after {procs.posting_started_s:.1f} s",
                        flush=True,
                    )
                try:
                    procs.sample_memory()
                    procs.start_sampling()
                    warm = [
                        Sent(u, gen.text("want"), url_)
                        for u, url_ in zip(
                            members[(app, "warm-up")],
                            fake.response_urls(members[(app, "warm-up")]),
                            strict=True,
                        )
                    ]
                    run_load(procs.port, warm, min(4, len(warm)), 60)
                    if kmbot:
                        wait_drained(procs, args.drain_timeout)
                    for s in plan:
                        who = members[(app, s.name)]
                        requests = [
                            Sent(u, gen.text("want"), url_)
                            for u, url_ in zip(who, fake.response_urls(who), strict=True)
                        ]
                        cpu_before = cpu_snapshot(procs, fake)
                        wall_before = time.perf_counter()
                        seconds = run_load(procs.port, requests, s.clients, args.seconds)
                        drained, waited = (
                            wait_drained(procs, args.drain_timeout) if kmbot else (True, 0.0)
                        )
                        cpu_after = cpu_snapshot(procs, fake)
                        wall = time.perf_counter() - wall_before
                        figures = scenario_figures(
                            requests,
                            seconds,
                            fake.fetch() if kmbot else None,
                            _slack_posts(url) if kmbot else None,
                        )
                        figures.update(
                            cpu={k: cpu_after[k] - cpu_before[k] for k in cpu_after},
                            wall_s=wall,
                            engine=engine,
                            app="kmbot" if kmbot else "bare Bolt app",
                            scenario=s.name,
                            clients=s.clients,
                            drained=drained,
                            drain_s=waited,
                        )
                        results.append(figures)
                        extra = (
                            f", stored {figures['stored']:,}, confirmed {figures['confirmed']:,}, "
                            f"lost {figures['lost']}, card p99 {figures['card_p99']:.0f} ms, "
                            f"{figures['throughput']:.1f} posts/s"
                            + ("" if drained else f" (NOT drained after {waited:.0f} s)")
                            if kmbot
                            else ""
                        )
                        print(
                            f"  [{engine}] {figures['app']} {s.name}: {figures['acked']:,} acks, "
                            f"p99 {figures['p99']:.1f} ms{extra}",
                            flush=True,
                        )
                    procs.sample_memory()
                finally:
                    procs.stop()
                for r in results:
                    if r["engine"] == engine and r["app"] == (
                        "kmbot" if kmbot else "bare Bolt app"
                    ):
                        r.update(
                            start_s=procs.started_s,
                            posting_start_s=procs.posting_started_s,
                            web_mb=procs.peak_web_kb / 1024,
                            posting_mb=procs.peak_posting_kb / 1024,
                        )
        finally:
            fake.stop()
    return results


# ------------------------------------------------------------------ printing


def _ratio(r: dict[str, Any], results: list[dict[str, Any]]) -> float:
    bare = next(
        (
            b
            for b in results
            if b["engine"] == r["engine"] and b["scenario"] == r["scenario"] and b["app"] != "kmbot"
        ),
        None,
    )
    return r["p99"] / bare["p99"] if bare and bare["p99"] else 0.0


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The tables."""
    lines = ["", "Acknowledgements (ms), kmbot beside the bare Bolt app, same scenario:"]
    rows = []
    for r in results:
        rows.append(
            [
                f"{r['engine']}: {r['app']}",
                r["scenario"],
                r["sent"],
                r["acked"],
                r["refused"],
                r["ack_rate"],
                r["p50"],
                r["p95"],
                r["p99"],
                r["max"],
                f"{_ratio(r, results):.2f}x" if r["app"] == "kmbot" else "",
            ]
        )
    lines.append(
        table(
            [
                "server",
                "scenario",
                "sent",
                "acked",
                "refused",
                "acks/s",
                "ack p50",
                "ack p95",
                "ack p99",
                "ack max",
                "p99 / bare p99",
            ],
            rows,
        )
    )
    lines += ["", "Posting (kmbot: web acks, `kmbot posting` publishes; figures after the drain):"]
    rows = []
    for r in results:
        if r["app"] != "kmbot":
            continue
        rows.append(
            [
                f"{r['engine']}: {r['scenario']}",
                r["acked"],
                r["stored"],
                r["confirmed"],
                r["confirm_dupes"],
                r["lost"],
                r["duplicated"],
                r["queued_notices"],
                r["missing_cards"],
                r["card_p50"],
                r["card_p99"],
                r["card_max"],
                r["all_cards_s"],
                r["throughput"],
                "yes" if r["drained"] else f"NO ({r['drain_s']:.0f} s)",
            ]
        )
    lines.append(
        table(
            [
                "engine: scenario",
                "acked",
                "stored",
                "confirmed",
                "dup confirms",
                "lost",
                "duplicated",
                "queued notices",
                "no card",
                "card p50 ms",
                "card visible p99 ms",
                "card max ms",
                "last card after s",
                "posts/s",
                "drained",
            ],
            rows,
        )
    )
    lines += [
        "",
        "card: from the ack to the card's chat.postMessage reaching the fake. last card after s: "
        "from the scenario's first request to its last card. posts/s: posts fully processed "
        "(card and confirmation received) per second of the time at least one was in progress "
        "(when the posting keeps up, this is bounded by the arrival rate: compare acks/s).",
        "",
        "Processes (peak RSS over the run):",
    ]
    rows = []
    seen = set()
    for r in results:
        key = (r["engine"], r["app"])
        if key in seen:
            continue
        seen.add(key)
        kmbot = r["app"] == "kmbot"
        rows.append(
            [
                f"{r['engine']}: {r['app']}",
                r.get("start_s", 0.0),
                r.get("posting_start_s", 0.0) if kmbot else "",
                r.get("web_mb", 0.0),
                r.get("posting_mb", 0.0) if kmbot else "",
            ]
        )
    lines.append(
        table(
            [
                "server",
                "web ready after s",
                "posting ready after s",
                "web RSS MB",
                "posting RSS MB",
            ],
            rows,
        )
    )
    parts = ("web", "posting", "fake Slack", "PostgreSQL", "load generator")
    cpu_rows = [
        [
            f"{r['engine']}: {r['app']}",
            r["scenario"],
            r["wall_s"],
            *[1000 * r["cpu"][part] / max(r["sent"], 1) for part in parts],
            sum(r["cpu"].values()) / max(r["wall_s"], 1e-9),
        ]
        for r in results
        if "cpu" in r
    ]
    lines += [
        "",
        "Processor time per request (ms), from the first request until everything was posted and "
        "delivered; cores busy = all of it over the wall time (the machine has "
        f"{os.cpu_count()}):",
        table(
            ["server", "scenario", "wall s", *parts, "cores busy"],
            cpu_rows,
        ),
    ]
    kmbot_rows = [r for r in results if r["app"] == "kmbot"]
    lost = sum(r["lost"] for r in kmbot_rows)
    duplicated = sum(r["duplicated"] for r in kmbot_rows)
    refused = sum(r["refused"] for r in kmbot_rows)
    unconfirmed = sum(r["acked"] - r["confirmed"] for r in kmbot_rows)
    lines += [
        "",
        f"Totals for kmbot: lost {lost}, duplicated {duplicated}, refused {refused}, "
        f"unconfirmed {unconfirmed}, duplicate confirmations "
        f"{sum(r['confirm_dupes'] for r in kmbot_rows)}.",
        "",
        "Targets: ack p99 <= 3x bare and <= 250 ms; every post stored and confirmed; card visible "
        "p99 <= 2 s at 6 clients; throughput >= 20 posts/s at 100,000 open posts; burst "
        f"({args.burst} posts, {args.burst_clients} at a time): none refused, all cards within "
        "60 s.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000, help="open posts in the store")
    parser.add_argument("--clients", default="6,30", help="steady: concurrent clients, each")
    parser.add_argument("--requests", type=int, default=600, help="steady: requests per level")
    parser.add_argument("--burst", type=int, default=500, help="burst: posts (one per member)")
    parser.add_argument("--burst-clients", type=int, default=20, help="burst: at a time")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests first")
    parser.add_argument("--seconds", type=float, default=180, help="time limit per scenario")
    parser.add_argument(
        "--drain-timeout", type=float, default=300, help="seconds to wait for the posting"
    )
    parser.add_argument("--db", default=",".join(ENGINES), help="sqlite,postgresql")
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="do not ANALYZE the PostgreSQL store after seeding (as with autovacuum off)",
    )
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
        help="seconds to wait for the processes to be ready",
    )
    parser.add_argument(
        "--target", default="", help="serve this WSGI target instead of kmbot's (to try a variant)"
    )
    parser.add_argument("--log", default="", help="server log file (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        return serve_fake()
    # Stopped from outside (a timeout): unwind, so the processes and the database are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick:
        args.posts, args.clients, args.requests, args.warmup = 200, "2,4", 6, 1
        args.burst, args.burst_clients, args.seconds, args.drain_timeout = 8, 4, 20, 20
    args.client_levels = [int(c) for c in str(args.clients).split(",") if c.strip()]
    log = Path(args.log) if args.log else Path(f"/tmp/kmbot-bench-requests-{os.getpid()}.log")
    print(
        f"Requests benchmark: signed /want through `{procfile_web()}` with `{procfile('posting')}` "
        f"beside it; baseline: the same web command serving {BARE_TARGET}"
    )
    print(
        f"{args.posts:,} open posts seeded; steady: {args.requests:,} requests from as many "
        f"members at each of {args.clients} concurrent clients; burst: {args.burst:,} posts from "
        f"{args.burst:,} members, {args.burst_clients} at a time, on the same store. "
        f"PostgreSQL store ANALYZEd after seeding: {'yes' if args.analyze else 'no'}. "
        f"Server log: {log}"
    )
    print(f"Machine: {machine_note()}", flush=True)
    results: list[dict[str, Any]] = []
    for engine in [e.strip() for e in args.db.split(",") if e.strip()]:
        results.extend(bench_engine(engine, args, log))
    print(report(results, args))
    print(f"Machine at the end: {machine_note()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
