"""Waiting in tests for something another thread or process does."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@contextmanager
def held_elsewhere(hold: Callable[[], object], *, timeout: float = 10.0) -> Iterator[None]:
    """Run `hold()` in a transaction on another thread (its own database connection) and keep
    that transaction open for the block, as a concurrent request or worker would."""
    holding, release = threading.Event(), threading.Event()

    def run() -> None:
        try:
            with transaction.atomic():
                hold()
                holding.set()
                release.wait(timeout * 3)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        if not holding.wait(timeout):
            raise AssertionError("the other transaction did not start")
        yield
    finally:
        release.set()
        thread.join()
