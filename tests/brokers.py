"""Point the Celery app at a given broker for one test, with tasks sent through it."""

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


@contextlib.contextmanager
def broker_at(url: str):
    conf = app.conf
    saved = (conf.broker_url, conf.broker_transport_options, conf.task_always_eager)
    saved_env = os.environ.get("CELERY_BROKER_URL")
    # Celery reads CELERY_BROKER_URL from the environment before its own setting.
    os.environ["CELERY_BROKER_URL"] = url
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = url, {}, False
    app._after_fork()  # drop the pooled connections to the previous broker
    try:
        yield app
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        conf.broker_url, conf.broker_transport_options, conf.task_always_eager = saved
        app._after_fork()
