"""Handing a task to the broker from a request or a service without ever failing the caller.

What the task would do is already committed (outbox rows, an edited policy), so a broker that
cannot be reached only delays it: the log says so, and the scan's sweep delivers the outbox
rows once the broker is back. Tasks are named, not imported, so the domain does not import
the task modules that import it.
"""

import logging
from typing import Any

from celery import current_app
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# One quick retry: a broker that is down must not hold a request for seconds.
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}


def task_enqueue(*, name: str, args: tuple = (), countdown: float | None = None) -> bool:
    """Send the task `name` with `args`; False, with a warning logged, when the broker could
    not be reached (the caller's work stands and is picked up later)."""
    try:
        options: dict[str, Any] = {} if countdown is None else {"countdown": countdown}
        current_app.signature(name, args=args).apply_async(
            retry_policy=PUBLISH_RETRY_POLICY, **options
        )
    except (OperationalError, OSError) as exc:
        logger.warning(
            "Broker unreachable: task %s not queued (%s: %s); the SLA scan's sweep or the next "
            "kick picks the work up once the broker is back.",
            name,
            type(exc).__name__,
            exc,
        )
        return False
    return True
