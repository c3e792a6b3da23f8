"""Guessing bearer tokens is throttled per client address, with counters shared by every
process that uses the same cache."""

import multiprocessing
import os

import pytest
from rest_framework.test import APIClient

from tests.portal.api.conftest import client_for
from tests.portal.api.shared_counter_worker import count_hits

LIST = "/api/v1/tickets/"


def guess(address: str = "198.51.100.7", token: str = "made-up-token"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(LIST)


def test_invalid_tokens_past_the_limit_get_429_with_retry_after(db, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token_failure": "5/min"}
    statuses = [guess(token=f"guess-{n}").status_code for n in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    response = guess()
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "throttled"


def test_a_throttled_address_is_refused_even_with_a_valid_token_and_others_are_not(
    people, settings
):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token_failure": "3/min"}
    for n in range(3):
        guess(token=f"guess-{n}")
    valid = client_for(people["pm"])
    assert valid.get(LIST, REMOTE_ADDR="198.51.100.7").status_code == 429
    assert valid.get(LIST, REMOTE_ADDR="203.0.113.9").status_code == 200
    assert guess(address="203.0.113.9").status_code == 401


def test_valid_tokens_do_not_count_as_failures(people, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token_failure": "2/min"}
    valid = client_for(people["pm"])
    assert {valid.get(LIST).status_code for _ in range(5)} == {200}


def test_malformed_authorization_headers_count_too(db, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token_failure": "2/min"}
    client = APIClient(REMOTE_ADDR="198.51.100.8")
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    assert [client.get(LIST).status_code for _ in range(3)] == [401, 401, 429]


def _shared_cache_url() -> str | None:
    for name in ("CACHE_URL", "CELERY_BROKER_URL"):
        url = os.environ.get(name, "")
        if url.startswith("redis://"):
            return url
    return None


def test_two_processes_share_one_exact_counter_through_the_shared_cache():
    """Each of two processes counts 300 hits on one key in Redis; together every count from 1
    to 600 is handed out once, so a limit holds across processes and web nodes."""
    cache_url = _shared_cache_url()
    if cache_url is None:
        pytest.skip("needs Redis (CACHE_URL or CELERY_BROKER_URL=redis://...)")
    key = f"test-two-processes:{os.getpid()}:{os.urandom(4).hex()}"
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=count_hits, args=(cache_url, key, 300, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    counts = queue.get(timeout=60) + queue.get(timeout=60)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert sorted(counts) == list(range(1, 601))
