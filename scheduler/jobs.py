"""Background work: the outbox, CRM pushes, stalled steps, calendar sync. In-process by
default (a thread woken after each commit); Celery workers with a Redis broker at scale."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from scheduler.settings import Settings

logger = logging.getLogger(__name__)


class InlineJobs:
    """Runs the work at once, in the caller's thread: for tests and one-shot commands."""

    def __init__(self, work: Callable[[], object]) -> None:
        self.work = work

    def kick(self) -> None:
        self.work()


class ManualJobs:
    """Records kicks and runs nothing, so a test decides when the worker runs."""

    def __init__(self) -> None:
        self.kicks = 0

    def kick(self) -> None:
        self.kicks += 1


class ThreadJobs:
    """One daemon thread: runs the work when kicked, and every `interval` seconds anyway
    (retries fall due, offers expire, steps stall). A tick syncs the connections a push
    notification or the rep asked to sync, and those whose busy mirror is about to age
    out (`nextstep sync` reads them all)."""

    def __init__(self, work: Callable[[], object], *, interval: float = 30.0) -> None:
        self.work = work
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ThreadJobs:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="nextstep-jobs",
                                            daemon=True)
            self._thread.start()
        return self

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.work()
            except Exception:  # the loop must survive a bad tick; the error is logged
                logger.exception("background tick failed")
            self._wake.wait(self.interval)
            self._wake.clear()


class CeleryJobs:
    """Hands the work to Celery workers through Redis; `nextstep worker` runs them."""

    def __init__(self, redis_url: str) -> None:
        from celery import Celery

        self.app = Celery("nextstep", broker=redis_url)
        self.app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True,
                             beat_schedule={"tick": {"task": "nextstep.tick",
                                                     "schedule": 30.0}})

    def kick(self) -> None:
        self.app.send_task("nextstep.tick")

    def register(self, work: Callable[[], object]) -> None:
        """Make `work` the task that workers run for each kick (and every 30 s with beat)."""

        @self.app.task(name="nextstep.tick")
        def tick() -> None:
            work()


def background_jobs(settings: Settings, work: Callable[[], object]) -> ThreadJobs | CeleryJobs:
    """What a serving process kicks: Celery workers when REDIS_URL is set (`nextstep
    worker` does the work), else its own thread."""
    if settings.redis_url:
        return CeleryJobs(settings.redis_url)
    return ThreadJobs(work).start()
