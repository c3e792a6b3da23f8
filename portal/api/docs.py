"""OpenAPI descriptions and examples of every endpoint (drf-spectacular)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers

from .serializers import (
    AttachmentCreateSerializer,
    AttachmentSerializer,
    CommentCreateSerializer,
    CommentSerializer,
    TicketCreateSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
)


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    # The error body's `fields` key; this serializer only documents it, never validates.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


TICKET_EXAMPLE = {
    "reference": "RX-1042",
    "site": "riverside-general",
    "kind": "incident",
    "impact": "high",
    "status": "in_progress",
    "title": "Pharmacy dispensing cabinets offline",
    "description": "All cabinets on floors 3-5 show 'server unreachable' since 09:10.",
    "reporter": "sm-it",
    "assignee": "agent.lee",
    "created_at": "2026-11-25T14:12:03Z",
    "updated_at": "2026-11-25T14:40:10Z",
    "resolved_at": None,
    "closed_at": None,
    "sla": {
        "state": "met",
        "response_due_at": "2026-11-25T15:12:03Z",
        "responded_at": "2026-11-25T14:40:10Z",
        "response_breached": False,
        "response_breached_at": None,
        "next_update_due_at": "2026-11-25T15:40:10Z",
        "estimated_resolution_at": "2026-11-25T18:00:00Z",
        "escalation_level": 1,
    },
    "attachments": [
        {
            "id": 87,
            "name": "cabinet-error.png",
            "content_type": "image/png",
            "size": 48213,
            "uploaded_by": "sm-it",
            "created_at": "2026-11-25T14:13:40Z",
            "url": "https://support.rx.health/api/v1/tickets/RX-1042/attachments/87/",
        }
    ],
}
COMMENT_EXAMPLE = {
    "id": 311,
    "author": "agent.lee",
    "by_staff": True,
    "public": True,
    "body": "We restarted the cabinet gateway; please confirm floor 4.",
    "estimated_resolution_at": "2026-11-25T18:00:00Z",
    "created_at": "2026-11-25T14:40:10Z",
    "attachments": [],
}
ATTACHMENT_EXAMPLE = {
    "id": 57,
    "name": "gateway.log",
    "content_type": "text/plain",
    "size": 18234,
    "uploaded_by": "sm-it",
    "created_at": "2026-11-25T14:45:00Z",
}


def _error(description: str, example: dict) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(description, value=example, response_only=True)],
    )


E400 = _error(
    "Bad input",
    {
        "status": 400,
        "code": "invalid",
        "detail": "Some inputs are not valid.",
        "fields": {"title": ["This field is required."]},
    },
)
E401 = _error(
    "No valid credentials",
    {
        "status": 401,
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    },
)
E403 = _error(
    "Your role may not do this",
    {
        "status": 403,
        "code": "not_allowed",
        "detail": "Only the site's project managers and IT staff may file or reply to tickets.",
    },
)
E404 = _error(
    "Not one of your tickets", {"status": 404, "code": "not_found", "detail": "Not found."}
)
E409 = _error(
    "The ticket's state does not allow it, or the same Idempotency-Key is still running",
    {"status": 409, "code": "conflict", "detail": "This ticket is closed."},
)
E422 = _error(
    "Idempotency-Key reused with another request",
    {
        "status": 422,
        "code": "idempotency_key_reused",
        "detail": "This Idempotency-Key was used with a different request.",
    },
)
E429 = _error(
    "Too many requests (see Retry-After)",
    {
        "status": 429,
        "code": "throttled",
        "detail": "Request was throttled. Expected available in 12 seconds.",
    },
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": "^[!-~]{1,255}$"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID). Retrying with the same key and body returns the first "
        "response and creates nothing; the same key with another body is a 422. Kept 24 hours."
    ),
)
COMMON = {401: E401, 429: E429}

TICKET_LIST = extend_schema(
    summary="List tickets",
    description=(
        "Tickets of your sites, newest first. Filter with `status`, `kind`, `impact`, "
        "`sla_state` (each may repeat) and `site` (slug); order with `ordering` "
        "(e.g. `-response_due_at`). `page_size` above the maximum gives the maximum; a `page` "
        "past the end gives the last page."
    ),
    responses={200: TicketSerializer(many=True), 400: E400, **COMMON},
    examples=[OpenApiExample("A page", value=TICKET_EXAMPLE, response_only=True)],
)
TICKET_CREATE = extend_schema(
    summary="File a ticket",
    description="For site members with role pm or it (staff may name the `reporter`).",
    parameters=[IDEMPOTENCY_KEY],
    request=TicketCreateSerializer,
    responses={
        201: TicketSerializer,
        400: E400,
        403: E403,
        409: E409,
        422: E422,
        **COMMON,
    },
    examples=[
        OpenApiExample(
            "An incident",
            value={
                "site": "riverside-general",
                "kind": "incident",
                "impact": "high",
                "title": "Pharmacy dispensing cabinets offline",
                "description": "All cabinets on floors 3-5 show 'server unreachable'.",
            },
            request_only=True,
        ),
        OpenApiExample(
            "A general request",
            value={
                "site": "riverside-general",
                "kind": "general",
                "title": "How do we add a new ward?",
                "description": "We open ward 7B next month.",
            },
            request_only=True,
        ),
        OpenApiExample("Filed", value=TICKET_EXAMPLE, response_only=True, status_codes=["201"]),
    ],
)
TICKET_RETRIEVE = extend_schema(
    summary="Read a ticket and its SLA",
    responses={200: TicketSerializer, 404: E404, **COMMON},
    examples=[OpenApiExample("A ticket", value=TICKET_EXAMPLE, response_only=True)],
)
TICKET_UPDATE = extend_schema(
    summary="Change status, impact or assignee",
    description=(
        "Rx.Health staff change `status`, `impact` and `assignee`; a site's pm and it members "
        "may only mark a ticket resolved or reopen it."
    ),
    request=TicketUpdateSerializer,
    responses={200: TicketSerializer, 400: E400, 403: E403, 404: E404, 409: E409, **COMMON},
    examples=[
        OpenApiExample(
            "Assign and start",
            value={"status": "in_progress", "assignee": "agent.lee"},
            request_only=True,
        ),
        OpenApiExample("Updated", value=TICKET_EXAMPLE, response_only=True),
    ],
)
_COMMENTS_GET = extend_schema(
    methods=["GET"],
    summary="Read a ticket's comments",
    description="Public comments, oldest first (staff also see internal notes).",
    responses={200: CommentSerializer(many=True), 400: E400, 404: E404, **COMMON},
    examples=[OpenApiExample("A page", value=COMMENT_EXAMPLE, response_only=True)],
)
_COMMENTS_POST = extend_schema(
    methods=["POST"],
    summary="Comment on a ticket",
    description=(
        "Site pm and it members reply publicly. Staff may write internal notes "
        "(`public: false`) and set `estimated_resolution_at` (required on the first reply to "
        "tasks and change requests)."
    ),
    parameters=[IDEMPOTENCY_KEY],
    request=CommentCreateSerializer,
    responses={
        201: CommentSerializer,
        400: E400,
        403: E403,
        404: E404,
        409: E409,
        422: E422,
        **COMMON,
    },
    examples=[
        OpenApiExample("A reply", value={"body": "Floor 4 is back, thank you."}, request_only=True),
        OpenApiExample(
            "Staff reply with an estimate",
            value={
                "body": "We are on it.",
                "public": True,
                "estimated_resolution_at": "2026-11-25T18:00:00Z",
            },
            request_only=True,
        ),
        OpenApiExample("Posted", value=COMMENT_EXAMPLE, response_only=True, status_codes=["201"]),
    ],
)


def COMMENTS(view_method):
    return _COMMENTS_GET(_COMMENTS_POST(view_method))


ATTACHMENTS = extend_schema(
    summary="Attach a file to a ticket",
    description=(
        "multipart/form-data with the field `file`. Size and real content type are checked "
        "(PDF, images, text, CSV, ZIP, Word and Excel documents)."
    ),
    parameters=[IDEMPOTENCY_KEY],
    request={"multipart/form-data": AttachmentCreateSerializer},
    responses={
        201: AttachmentSerializer,
        400: E400,
        403: E403,
        404: E404,
        409: E409,
        422: E422,
        **COMMON,
    },
    examples=[
        OpenApiExample(
            "Attached", value=ATTACHMENT_EXAMPLE, response_only=True, status_codes=["201"]
        )
    ],
)

ESCALATE_EXAMPLE = {
    "reference": "RX-1042",
    "escalation_level": 3,
    "message": "Escalated to level 3; the escalation contacts have been emailed.",
}

ESCALATE = extend_schema(
    summary="Escalate a ticket one level",
    description=(
        "For a site's pm and it members, once the committed first-response time has passed "
        "with no response: moves the ticket up one level now, within the maximum for its kind "
        "and impact, and emails that level's escalation contacts. 400 before the committed "
        "time, 409 at the maximum or once responded to, 403 for viewers."
    ),
    parameters=[IDEMPOTENCY_KEY],
    request=None,
    responses={
        200: inline_serializer(
            name="EscalateResponse",
            fields={
                "reference": serializers.CharField(),
                "escalation_level": serializers.IntegerField(),
                "message": serializers.CharField(),
            },
        ),
        400: E400,
        403: E403,
        404: E404,
        409: E409,
        422: E422,
        **COMMON,
    },
    examples=[
        OpenApiExample(
            "Escalated", value=ESCALATE_EXAMPLE, response_only=True, status_codes=["200"]
        )
    ],
)

ATTACHMENT_FILE = extend_schema(
    summary="Download an attachment",
    description=(
        "The file, as a download (`Content-Disposition: attachment`), with the same token; "
        "404 for a file on a ticket you may not see. Attachments' `url` points here."
    ),
    parameters=[OpenApiParameter("attachment_id", int, OpenApiParameter.PATH)],
    responses={
        (200, "*/*"): OpenApiResponse(
            OpenApiTypes.BINARY,
            description="The file, in its own type",
            examples=[OpenApiExample("A file", value="(the file's bytes)")],
        ),
        404: E404,
        **COMMON,
    },
)
