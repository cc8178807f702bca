"""Talking to Slack: ``kmbot serve`` (HTTP) and ``kmbot socket`` (Socket Mode)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from types import FrameType
from typing import Any, TextIO

from bot.kernel.settings import Settings

logger = logging.getLogger(__name__)

# `kmbot posting` runs this much nicer than the web process (see cmd_posting).
POSTING_NICENESS = 10
# How often `kmbot deliver` looks for owed messages (another process owes them: no kick).
DELIVER_POLL_SECONDS = 0.1


def cmd_serve(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Serve Slack's HTTP requests with a threaded WSGI server (gunicorn runs it in production).

    By default a ``kmbot posting`` child process publishes the posts this process stores before
    each ack, so acks never wait on posting work; ``--posting thread`` keeps it in-process, and
    ``--posting elsewhere`` leaves it to a ``kmbot posting`` run separately."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from bot.app import wsgi_from_env

    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    port = settings.port if args.port is None else args.port
    web = wsgi_from_env(posting="here" if args.posting == "thread" else "elsewhere")

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 128  # a workshop's burst of connections is queued, not refused

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *a: object) -> None:  # noqa: A002
            logger.debug("%s " + format, self.address_string(), *a)

    httpd = make_server(args.host, port, web, server_class=Server, handler_class=QuietHandler)

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        # serve_forever must be stopped from another thread (it returns at once if it has not
        # started yet); then the posting child is stopped too.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    child = _Child.start("posting") if args.posting == "process" else None
    out.write(
        f"kmbot is serving Slack on http://{args.host}:{httpd.server_port}/slack/events "
        f"(health: /healthz)\n"
    )
    out.flush()

    try:
        httpd.serve_forever()
    finally:
        signal.signal(signal.SIGTERM, previous)
        httpd.server_close()
        if child is not None:
            child.stop()
        web.container.close()
    return 0


class _Child:
    """A ``kmbot`` subcommand run as a child process (``kmbot posting`` of ``kmbot serve``,
    ``kmbot deliver`` of ``kmbot posting``), restarted if it dies; it stops by itself if its
    parent is killed (stored posts and owed messages wait in the database for the next start)."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None

    @classmethod
    def start(cls, *command: str) -> _Child:
        child = cls(list(command))
        child._spawn()
        child._watch = threading.Thread(target=child._keep_alive, name="kmbot-child", daemon=True)
        child._watch.start()
        return child

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *self.command, "--parent-pid", str(os.getpid())]
        )

    def _keep_alive(self) -> None:
        while not self._stopping.wait(1.0):
            if self.process is not None and self.process.poll() is not None:
                logger.warning(
                    "kmbot %s stopped (exit %s); starting it again",
                    self.command[0],
                    self.process.returncode,
                )
                self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _until_stopped(args: argparse.Namespace, what: str) -> None:
    """Wait for SIGTERM or SIGINT, or for the parent (``--parent-pid``) to go."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("Received %s: stopping after the work in hand", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.wait(0.5):
            if args.parent_pid and os.getppid() != args.parent_pid:
                logger.warning("The process that started kmbot %s has gone: stopping", what)
                return
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_posting(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Publish the posts the web process stored before its acks, until SIGTERM or SIGINT.

    By default a ``kmbot deliver`` child sends what the posts owe Slack, so posting and delivery
    use two processors; ``--deliver thread`` does both here."""
    from bot.app import create_app, start_background
    from bot.container import build_container

    settings.require("SLACK_BOT_TOKEN")
    if args.nice:
        # Acknowledgements must never wait for posting work: on a shared machine the web
        # process gets the processor first, and posting catches up in between. (A delivery
        # child inherits the lower priority.)
        os.nice(args.nice)
    container = build_container(settings)
    child = None
    try:
        create_app(settings, container)  # its handlers register the work to do
        start_background(container, posting=True, deliver=args.deliver == "thread")
        if args.deliver == "process":
            child = _Child.start("deliver")
        out.write(
            "kmbot posting: publishing stored posts as they arrive. Stop with Ctrl+C or SIGTERM.\n"
        )
        out.flush()
        _until_stopped(args, "posting")
    finally:
        if child is not None:
            child.stop()
        container.close()  # finishes the post in hand
    out.write("kmbot posting stopped.\n")
    out.flush()
    return 0


def cmd_deliver(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Send what the outbox owes Slack as soon as it is owed, until SIGTERM or SIGINT."""
    from bot.container import build_container

    settings.require("SLACK_BOT_TOKEN")
    container = build_container(settings)
    try:
        container.deliverer.start(poll_seconds=DELIVER_POLL_SECONDS)
        out.write("kmbot deliver: sending what the outbox owes Slack. Stop with Ctrl+C.\n")
        out.flush()
        _until_stopped(args, "deliver")
    finally:
        container.close()  # finishes the message in hand
    return 0


def cmd_socket(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Connect to Slack in Socket Mode: for councils that cannot expose a public URL."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app, start_background
    from bot.container import build_container

    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    container = build_container(settings)
    app = create_app(settings, container)
    start_background(container)
    out.write("kmbot is connecting to Slack in Socket Mode…\n")
    out.flush()
    try:
        SocketModeHandler(app, settings.slack_app_token).start()
    finally:
        container.close()
    return 0


def add_commands(subparsers: Any) -> None:
    """Add ``kmbot serve`` and ``kmbot socket`` to the command line."""
    serve = subparsers.add_parser(
        "serve", help="serve Slack over HTTP (POST /slack/events, GET /healthz)"
    )
    serve.add_argument("--port", type=int, default=None, help="port (default: $PORT or 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument(
        "--posting",
        choices=("process", "thread", "elsewhere"),
        default="process",
        help=(
            "where posts are published after the ack: a child `kmbot posting` process "
            "(default), a thread of this process, or elsewhere (you run `kmbot posting`)"
        ),
    )
    serve.set_defaults(func=cmd_serve)

    posting = subparsers.add_parser(
        "posting",
        help="publish the posts `kmbot serve` (or gunicorn) stored before acknowledging them",
    )
    posting.add_argument("--parent-pid", type=int, default=0, help=argparse.SUPPRESS)
    posting.add_argument(
        "--nice",
        type=int,
        default=POSTING_NICENESS,
        help=(
            f"run at this lower priority, so a web process on the same machine acknowledges "
            f"first (default {POSTING_NICENESS}; 0 keeps the normal priority)"
        ),
    )
    posting.add_argument(
        "--deliver",
        choices=("process", "thread"),
        default="process",
        help="send what posts owe Slack from a `kmbot deliver` child (default) or a thread here",
    )
    posting.set_defaults(func=cmd_posting)

    deliver = subparsers.add_parser(
        "deliver", help="send what the outbox owes Slack (`kmbot posting` starts one)"
    )
    deliver.add_argument("--parent-pid", type=int, default=0, help=argparse.SUPPRESS)
    deliver.set_defaults(func=cmd_deliver)

    sock = subparsers.add_parser(
        "socket", help="connect to Slack in Socket Mode (no public URL needed)"
    )
    sock.set_defaults(func=cmd_socket)
