from celery import current_app
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

BROKER_TIMEOUT_SECONDS = 2


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means unhealthy
        return False
    return True


def _broker_answers() -> bool:
    try:
        with current_app.connection_for_write() as broker:
            broker.ensure_connection(
                max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS
            )
    except Exception:  # any broker failure is a warning, whatever its cause
        return False
    return True


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not. The broker is reported but does
    not fail the check: requests still work without it and the sweep sends what waits. Names
    only the dependency, never its host, database name or credentials."""
    body: dict = {"status": "ok", "database": "ok", "broker": "ok"}
    if not _broker_answers():
        body["broker"] = "unreachable"
        body["warnings"] = ["broker unreachable: notifications wait in the outbox until it is back"]
    if not _database_answers():
        body["status"] = "error"
        body["database"] = "unreachable"
        return JsonResponse(body, status=503)
    return JsonResponse(body)
