"""A preview of the fix proposed for the /want ack under load, for bench_requests.py --target.

Not the product: it patches two things the web-app owners would change properly, so the fix can
be measured before it is made:

1. ``/want`` acks, then hands the slow work (store, match, introduce, reply, App Home) to a
   small work pool of its own. As shipped, the work runs in the listener itself, on Bolt's
   five-thread listener pool, so under load a new request's listener (and with it its ack)
   queues behind earlier requests' work.
2. The replay check (``bot.app.remember_request``) writes to the database before the ack; here it
   is skipped, to measure what that write costs (on SQLite it waits for the write lock that
   publishing holds). A per-process memory of recent signatures, written to the database after
   the ack, would keep the protection without the wait.

Usage: python bench/bench_requests.py --target 'bench.proposed_fix:wsgi()'
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import bot.app as app_module
from bot.app import KmbotWeb
from bot.services import build_services
from bot.settings import Settings

_WORK = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kmbot-work")


def _patch() -> None:
    import handlers.posts as posts

    def want_command(self: Any, ack: Any, command: dict[str, Any], respond: Any,
                     client: Any) -> None:
        ack()
        _WORK.submit(self._command, posts.PostKind.WANT, command, respond, client)

    posts.PostHandlers.want_command = want_command  # type: ignore[method-assign]
    app_module.remember_request = lambda *args, **kwargs: True  # type: ignore[assignment]


def wsgi() -> KmbotWeb:
    """As ``bot.app.wsgi_from_env``, with the two changes above."""
    _patch()
    settings = Settings.from_env()
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    services = build_services(settings)
    web = app_module.create_web(settings, services)
    with services.session_factory() as session:
        services.matcher.refresh(session)
    assert services.deliverer is not None
    services.deliverer.start()
    return web
