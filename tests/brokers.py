"""Point the Celery app at a given broker (and queue) for one test, with tasks sent through it."""

import contextlib
import os
import socket

from portal.celery import app


def unreachable_broker_url() -> str:
    """A Redis URL on a local port where nothing listens (connection refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/9"


def _reset() -> None:
    # Drop the pooled connections to the previous broker (Celery's own reset after a fork;
    # private, so celery-stubs do not declare it).
    app._after_fork()  # type: ignore[attr-defined]
    for cached in ("queues", "default_queue", "router"):  # built once from the settings
        app.amqp.__dict__.pop(cached, None)


@contextlib.contextmanager
def broker_at(url: str, transport_options: dict | None = None, queue: str | None = None):
    conf = app.conf
    saved = (
        conf.broker_url,
        conf.broker_transport_options,
        conf.task_always_eager,
        conf.task_default_queue,
    )
    saved_env = os.environ.get("CELERY_BROKER_URL")
    # Celery reads CELERY_BROKER_URL from the environment before its own setting.
    os.environ["CELERY_BROKER_URL"] = url
    # `broker_url` reads as a property (it prefers the environment); set it as the item.
    conf["broker_url"], conf.broker_transport_options = url, transport_options or {}
    conf.task_always_eager = False
    conf.task_default_queue = queue or saved[3]
    _reset()
    try:
        yield app
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        (
            conf["broker_url"],
            conf.broker_transport_options,
            conf.task_always_eager,
            conf.task_default_queue,
        ) = saved
        _reset()
