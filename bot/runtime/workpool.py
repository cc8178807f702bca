"""A bounded pool for the work a listener does after it has acknowledged Slack.

Bolt runs listeners on a small pool and each ack waits for a free listener thread; slow work done
inside the listener would make later acks queue behind it. Listeners ack, then hand the work here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

logger = logging.getLogger(__name__)


class PoolFull(Exception):
    """Too much work is already waiting: the caller should ask the user to try again."""


class WorkPool(Executor):
    """A thread pool that refuses work beyond ``max_waiting`` queued tasks instead of growing."""

    def __init__(self, max_workers: int = 2, max_waiting: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="kmbot-work")
        self._slots = threading.BoundedSemaphore(max_workers + max_waiting)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue ``fn``; raises PoolFull when the queue is at its limit."""
        if not self._slots.acquire(blocking=False):
            raise PoolFull
        try:
            future = self._pool.submit(_logged(fn), *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _f: self._slots.release())
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Finish (or cancel) queued work and stop the threads."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def _logged(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            logger.exception("Work after an acknowledgement failed")
            raise

    return run
