"""POST /api/v1/tickets/<reference>/escalate/: a site contact escalates a ticket."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from escalation.services import escalation_request
from tickets.errors import DomainError
from tickets.models import Ticket
from tickets.selectors import ticket_get_visible

EscalateResponse = inline_serializer(
    name="EscalateResponse",
    fields={
        "reference": serializers.CharField(),
        "escalation_level": serializers.IntegerField(),
        "message": serializers.CharField(),
    },
)
ErrorResponse = inline_serializer(
    name="EscalateError",
    fields={"detail": serializers.CharField(), "code": serializers.CharField()},
)


class TicketEscalateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: EscalateResponse,
            400: OpenApiResponse(ErrorResponse, description="The committed time has not passed."),
            403: OpenApiResponse(ErrorResponse, description="Viewers may not escalate."),
            404: OpenApiResponse(description="No such ticket among the caller's sites."),
            409: OpenApiResponse(
                ErrorResponse, description="At the maximum level, responded to, or closed."
            ),
        },
        summary="Escalate a ticket one level",
        description=(
            "For a site's pm and it members, once the committed first-response time has "
            "passed with no response: moves the ticket up one level now, within its maximum, "
            "and emails the escalation contacts."
        ),
    )
    def post(self, request: Request, reference: str) -> Response:
        try:
            ticket = ticket_get_visible(user=request.user, reference=reference)
        except Ticket.DoesNotExist as exc:
            raise NotFound("No such ticket.") from exc
        try:
            ticket = escalation_request(ticket=ticket, actor=request.user)
        except DomainError as exc:
            return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
        return Response(
            {
                "reference": ticket.reference,
                "escalation_level": ticket.escalation_level,
                "message": (
                    f"Escalated to level {ticket.escalation_level}; the escalation contacts "
                    "have been emailed."
                ),
            },
            status=status.HTTP_200_OK,
        )
