"""Talking to Slack: ``kmbot serve`` (HTTP) and ``kmbot socket`` (Socket Mode)."""

from __future__ import annotations

import argparse
import logging
from typing import Any, TextIO

from bot.kernel.settings import Settings

logger = logging.getLogger(__name__)


def cmd_serve(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Serve Slack's HTTP requests with a threaded WSGI server (gunicorn runs it in production)."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from bot.app import wsgi_from_env

    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    port = settings.port if args.port is None else args.port
    web = wsgi_from_env()

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *a: object) -> None:  # noqa: A002
            logger.debug("%s " + format, self.address_string(), *a)

    httpd = make_server(args.host, port, web, server_class=Server, handler_class=QuietHandler)
    out.write(
        f"kmbot is serving Slack on http://{args.host}:{httpd.server_port}/slack/events "
        f"(health: /healthz)\n"
    )
    out.flush()
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
        web.container.close()
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
    serve.set_defaults(func=cmd_serve)

    sock = subparsers.add_parser(
        "socket", help="connect to Slack in Socket Mode (no public URL needed)"
    )
    sock.set_defaults(func=cmd_socket)
