"""``kmbot sandbox`` on the command line: it never touches real data, and says so.

The sandbox always starts with a fresh temporary database (DATABASE_URL is ignored), refuses a
server database or an address other computers can reach unless told in so many words, takes its
port from $PORT as ``kmbot serve`` does, and can have its clock pinned for tests.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sandbox_process import THURSDAY_BEFORE_NUDGE, sandbox_env, sandbox_process

from bot.cli import main
from bot.devtools.sandbox import is_loopback

pytestmark = pytest.mark.slow


def _refused(*args: str, **env: str) -> str:
    """Run ``kmbot sandbox ARGS``, which should refuse at once; what it said on stderr.

    A real process with a time limit: a sandbox that started instead fails the test rather than
    running for ever."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "sandbox", *args],
        env=sandbox_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _state(port: int) -> dict[str, object]:
    url = f"http://127.0.0.1:{port}/sandbox/state?user=U0SARAH&conversation=C0MARKET"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def _real_database(path: Path) -> str:
    """A stand-in for production's database: one table, one row."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE members (name TEXT)")
        conn.execute("INSERT INTO members VALUES ('a real member')")
    conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    return names


# ---------------------------------------------------------------- the database


@pytest.mark.parametrize("exists", [True, False], ids=["existing", "absent"])
def test_database_url_is_ignored_and_its_database_left_untouched(
    tmp_path: Path, exists: bool
) -> None:
    real = tmp_path / "production.sqlite3"
    before = _real_database(real) if exists else None
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = sandbox_env(DATABASE_URL=f"sqlite:///{real}")
    with sandbox_process(["--port", "0"], workdir, env) as running:
        assert (
            "DATABASE_URL is set but the sandbox ignores it: it always starts with a fresh "
            "temporary database" in running.output
        ), running.output
        assert "a fresh SQLite database with the example workshop loaded" in running.output
        # The sandbox works, on a database of its own: the workshop's cards arrive.
        deadline = time.monotonic() + 20
        while not _state(running.port)["conversation"]["messages"]:  # type: ignore[index]
            assert time.monotonic() < deadline, "the example workshop's cards never arrived"
            time.sleep(0.2)
        code, output, stderr = running.stop()
    assert code == 0, stderr
    assert "Stopping the sandbox." in output and "Traceback" not in stderr
    if exists:
        assert hashlib.sha256(real.read_bytes()).hexdigest() == before
        assert _tables(real) == ["members"]
    else:
        assert not real.exists()
    assert list(workdir.iterdir()) == [workdir / "sandbox.stderr"]  # no kmbot.sqlite3 either


def test_without_database_url_nothing_is_said_about_it(tmp_path: Path) -> None:
    with sandbox_process(["--port", "0", "--no-example"], tmp_path) as running:
        assert "DATABASE_URL" not in running.output
        assert "a fresh SQLite database." in running.output


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://kmbot:s3cret@db.internal:5432/kmbot",
        "postgres://kmbot:s3cret@db.internal/kmbot",  # as hosting platforms write it
        "mysql://kmbot:s3cret@db.internal/kmbot",
    ],
)
def test_a_server_database_is_refused_without_the_flag(url: str) -> None:
    err = _refused("--database", url, "--port", "0")
    assert err.startswith("kmbot: --database names a ")
    assert "must never be given real data" in err and "--allow-server-database" in err
    assert "db.internal" in err and "s3cret" not in err  # named, without its password


def test_the_flag_lets_a_server_database_through() -> None:
    # Nothing listens on port 1: the sandbox gets as far as connecting, and says it cannot.
    url = "postgresql://kmbot@127.0.0.1:1/kmbot"
    err = _refused("--database", url, "--allow-server-database", "--port", "0")
    assert "kmbot: cannot use the database" in err
    assert "--allow-server-database" not in err


def test_a_sqlite_database_may_be_named(tmp_path: Path) -> None:
    named = tmp_path / "mine.sqlite3"
    with sandbox_process(
        ["--port", "0", "--no-example", "--database", f"sqlite:///{named}"], tmp_path
    ) as running:
        assert "the database you named" in running.output
    assert "posts" in _tables(named)


# ---------------------------------------------------------------- who can reach it


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "kmbot.example.org"])
def test_an_address_others_can_reach_is_refused_without_the_flag(host: str) -> None:
    err = _refused("--host", host, "--port", "0")
    assert f"--host {host} would let other computers reach the sandbox's page" in err
    assert "anyone who reaches it can act as any member, a facilitator included" in err
    assert "--allow-remote" in err


def test_loopback_addresses_are_this_machine_only() -> None:
    for host in ("127.0.0.1", "localhost", "LOCALHOST", "::1", "[::1]", "127.0.0.2"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "192.168.1.20", "10.0.0.1", "example.org"):
        assert not is_loopback(host), host


def test_the_flag_lets_others_reach_it_with_a_warning(tmp_path: Path) -> None:
    with sandbox_process(
        ["--host", "0.0.0.0", "--allow-remote", "--port", "0", "--no-example"], tmp_path
    ) as running:
        assert (
            "Listening on 0.0.0.0: anyone who can reach this address can act as any member, "
            "a facilitator included." in running.output
        )
        assert _state(running.port)["members"]


# ---------------------------------------------------------------- port, clock and help


def test_the_port_comes_from_port_unless_given(tmp_path: Path) -> None:
    from_env, given = _free_port(), _free_port()
    env = sandbox_env(PORT=str(from_env))
    with sandbox_process(["--no-example"], tmp_path, env) as running:
        assert running.url == f"http://localhost:{from_env}/"
    with sandbox_process(["--no-example", "--port", str(given)], tmp_path, env) as running:
        assert running.url == f"http://localhost:{given}/"


def test_the_clock_can_be_pinned_for_tests(tmp_path: Path) -> None:
    env = sandbox_env(KMBOT_SANDBOX_NOW=THURSDAY_BEFORE_NUDGE)
    with sandbox_process(["--port", "0", "--no-example"], tmp_path, env) as running:
        assert "The sandbox's clock started at 2027-01-07T09:55:00+00:00." in running.output
        clock = _state(running.port)["clock"]
        assert clock["text"].startswith("Thu 7 Jan 2027, 09:5"), clock  # type: ignore[index]


def test_a_clock_that_is_not_a_date_is_refused() -> None:
    err = _refused("--port", "0", KMBOT_SANDBOX_NOW="next Thursday")
    assert "KMBOT_SANDBOX_NOW must be a date and time such as 2027-01-07T09:55" in err


def test_the_help_says_what_the_sandbox_will_not_touch(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["sandbox", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "each run starts with a fresh temporary SQLite database (DATABASE_URL is ignored)" in text
    )
    assert "--port PORT port for the page (default: $PORT, or 3000" in text
    assert "--allow-remote" in text and "a facilitator included" in text
    assert "--allow-server-database" in text
