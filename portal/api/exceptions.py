"""One error format for the whole API:

    {"status": 400, "code": "invalid", "detail": "A sentence.", "fields": {"title": ["..."]}}

`fields` is present only when particular inputs are at fault."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tickets.errors import DomainError


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            out += [f"{key}: {m}" for m in _flatten(value)]
        return out
    if isinstance(detail, list):
        out = []
        for item in detail:
            out += _flatten(item)
        return out
    return [str(detail)]


def _fields(detail) -> dict[str, list[str]]:
    return {str(key): _flatten(value) for key, value in detail.items()}


def error_body(*, status_code: int, code: str, detail: str, fields: dict | None = None) -> dict:
    body = {"status": status_code, "code": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return body


def api_exception_handler(exc, context):
    """DRF errors, domain errors and Django's 404/403 in the one format; anything else is left
    to Django (a 500 is a bug to fix, not a response to design)."""
    if isinstance(exc, DomainError):
        fields = {exc.field: [exc.message]} if exc.field else None
        return Response(
            error_body(
                status_code=exc.status_code, code=exc.code, detail=exc.message, fields=fields
            ),
            status=exc.status_code,
        )
    if isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request could not be read.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(data, dict):
            non_field = data.pop("non_field_errors", None)
            fields = _fields(data)
            detail = " ".join(_flatten(non_field)) if non_field else "Some inputs are not valid."
            if non_field and fields:
                fields["non_field_errors"] = _flatten(non_field)
        else:
            fields = None
            detail = " ".join(_flatten(data)) or "The input is not valid."
        response.data = error_body(
            status_code=response.status_code, code="invalid", detail=detail, fields=fields
        )
        return response
    if isinstance(exc, Http404):
        code, detail = "not_found", "Not found."
    elif isinstance(exc, PermissionDenied):
        code, detail = "permission_denied", "You do not have permission to do this."
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        detail = " ".join(_flatten(data.get("detail", data) if isinstance(data, dict) else data))
    else:  # pragma: no cover
        code, detail = "error", " ".join(_flatten(data))
    response.data = error_body(status_code=response.status_code, code=code, detail=detail)
    return response
