"""Session timeouts: signed out after a quiet spell (idle) and a fixed time after signing in
(absolute), whatever the activity."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

SIGNED_IN_AT = "portal_signed_in_at"
LAST_SEEN_AT = "portal_last_seen_at"
# Write the session at most this often just to record activity.
_TOUCH_SECONDS = 60


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            session = request.session
            signed_in_at = session.setdefault(SIGNED_IN_AT, now)
            last_seen_at = session.get(LAST_SEEN_AT, now)
            idle = settings.SESSION_IDLE_TIMEOUT_MINUTES * 60
            absolute = settings.SESSION_ABSOLUTE_TIMEOUT_HOURS * 3600
            if now - last_seen_at > idle or now - signed_in_at > absolute:
                logout(request)
                if request.path.startswith("/api/"):
                    # The API goes on signed out: it answers 401 in its own format.
                    return self.get_response(request)
                messages.info(request, "Your session expired. Please sign in again.")
                if request.method == "GET":
                    return redirect_to_login(request.get_full_path())
                return redirect(settings.LOGIN_URL)
            if now - last_seen_at >= _TOUCH_SECONDS or LAST_SEEN_AT not in session:
                session[LAST_SEEN_AT] = now
        return self.get_response(request)
