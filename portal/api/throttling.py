"""Rate limits per token, per user, and on failed bearer tokens per client address; the rates
are settings (API_THROTTLE_*).

Every limit counts in fixed windows with the cache's atomic `add` and `incr`, so processes and
web nodes that share one cache (Redis: CACHE_URL) share one counter; DRF's own throttles read,
append and write back a list, which loses counts when requests race."""

import time

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from .models import ApiToken


def _rate(scope: str) -> tuple[int | None, int]:
    """(requests, seconds) for a scope; (None, 60) when no rate is set (no limit)."""
    # Read at request time (not import time) so settings changes apply.
    rate = settings.API_THROTTLE_RATES.get(scope)
    # DRF's parser, called unbound: it never reads `self`.
    num, duration = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    return num, duration or 60


def _window(duration: int) -> tuple[int, float]:
    """The current window's number and the seconds left in it."""
    now = time.time()
    return int(now // duration), duration - (now % duration)


def window_count_add(*, key: str, duration: int) -> int:
    """Counts one more in the current window of `key` and returns the new count (atomic)."""
    number, _ = _window(duration)
    window_key = f"throttle:{key}:{number}"
    # add() sets the key only if it is missing; incr() is atomic on Redis and memcached.
    cache.add(window_key, 0, timeout=duration + 1)
    try:
        return cache.incr(window_key)
    except ValueError:  # expired between add and incr
        cache.add(window_key, 1, timeout=duration + 1)
        return 1


def window_count(*, key: str, duration: int) -> int:
    number, _ = _window(duration)
    return cache.get(f"throttle:{key}:{number}", 0)


def window_retry_after(duration: int) -> int:
    return max(1, int(_window(duration)[1] + 0.999))


class _WindowThrottle(BaseThrottle):
    scope = ""

    def ident(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.ident(request)
        if ident is None:
            return True
        num, self.duration = _rate(self.scope)
        if num is None:
            return True
        return window_count_add(key=f"{self.scope}:{ident}", duration=self.duration) <= num

    def wait(self) -> int:
        return window_retry_after(self.duration)


class TokenRateThrottle(_WindowThrottle):
    """Requests per API token."""

    scope = "token"

    def ident(self, request):
        return str(request.auth.pk) if isinstance(request.auth, ApiToken) else None


class UserRateThrottle(_WindowThrottle):
    """Requests per user, over all their tokens and their browser session."""

    scope = "user"

    def ident(self, request):
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return None


def _address(request) -> str:
    return get_client_ip_address(request) or "unknown"


def token_failures_check(request) -> None:
    """Refuses (429 with Retry-After) a bearer token from an address that sent too many
    invalid ones in this window, before the token is looked up."""
    num, duration = _rate("token_failure")
    key = f"token_failure:{_address(request)}"
    if num is not None and window_count(key=key, duration=duration) >= num:
        raise exceptions.Throttled(
            wait=window_retry_after(duration),
            detail="Too many invalid API tokens from this address; try again later.",
        )


def token_failure_record(request) -> None:
    """Counts one invalid bearer token against the client's address."""
    _, duration = _rate("token_failure")
    window_count_add(key=f"token_failure:{_address(request)}", duration=duration)
