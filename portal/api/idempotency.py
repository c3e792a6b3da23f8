"""`Idempotency-Key` on POST: the same key from the same user with the same request gets the
first response back and creates nothing; another request under that key is a 422; a retry
while the first is still running is a 409.

The request runs in one transaction with the storing of its response, so a retry after any
failure sees either both (the first response is replayed) or neither (the request runs again);
a request killed mid-way never leaves its key "running"."""

import functools
import hashlib
import json

from django.db import transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .exceptions import error_body
from .services import IdempotencyClaim, idempotency_claim, idempotency_finish, idempotency_hold

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


def _request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        # Uploads may be larger than Django lets us hold as a raw body: hash the parsed form.
        for name in sorted(request.data.keys()):
            if name in request.FILES:
                continue
            for value in request.data.getlist(name):
                digest.update(f"{name}={value}\n".encode("utf-8", "surrogatepass"))
        for name in sorted(request.FILES.keys()):
            for upload in request.FILES.getlist(name):
                digest.update(f"{name}:{upload.name}:{upload.size}:".encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _error(status_code: int, code: str, detail: str) -> Response:
    return Response(
        error_body(status_code=status_code, code=code, detail=detail, fields=None),
        status=status_code,
    )


def _refusal(claim: IdempotencyClaim) -> Response:
    if claim.conflict == "mismatch":
        return _error(
            422, "idempotency_key_reused", f"This {HEADER} was used with a different request."
        )
    if claim.replay is not None:
        response = Response(claim.replay.response_body, status=claim.replay.response_status)
        response[REPLAY_HEADER] = "true"
        return response
    return _error(
        409,
        "idempotency_key_in_use",
        f"A request with this {HEADER} is still being processed; retry shortly.",
    )


def idempotent(handler):
    """Wrap a viewset action that creates something."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST":
            return handler(self, request, *args, **kwargs)
        if not (1 <= len(key) <= 255) or not key.isprintable() or not key.isascii():
            return _error(400, "invalid", f"{HEADER} must be 1 to 255 printable ASCII characters.")
        claim = idempotency_claim(user=request.user, key=key, request_hash=_request_hash(request))
        if claim.record is None:
            return _refusal(claim)
        with transaction.atomic():
            held = idempotency_hold(record=claim.record)
            if held.record is None:
                return _refusal(held)
            try:
                response = handler(self, request, *args, **kwargs)
            except Exception as exc:
                response = self.handle_exception(exc)  # re-raises what is a server error
            if response.status_code >= 500 or response.status_code == 429:
                # Nothing of a failed request stays, so the client's retry runs it again.
                transaction.set_rollback(True)
                return response
            body = json.loads(JSONRenderer().render(response.data)) if response.data else None
            idempotency_finish(record=held.record, status=response.status_code, body=body)
        return response

    return wrapper
