"""Runs in a fresh process (multiprocessing's spawn): counts hits on one throttle key in the
shared cache. Imports nothing from Django before django.setup()."""

import os


def count_hits(cache_url: str, key: str, hits: int, queue) -> None:
    os.environ["CACHE_URL"] = cache_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from portal.api.throttling import window_count_add

    queue.put([window_count_add(key=key, duration=3600) for _ in range(hits)])
