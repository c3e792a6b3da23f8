"""Staff API for major incidents: serializers, OpenAPI descriptions and the viewset. Thin:
parse input, call one service of `tickets.major_incidents`, render output."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from tickets import major_incidents as services
from tickets.models import (
    ClientSite,
    MajorIncident,
    MajorIncidentUpdate,
)
from tickets.selectors import is_staff, tickets_visible_to

from . import docs
from .idempotency import idempotent
from .major_incident_serializers import (
    MajorIncidentChangeSerializer,
    MajorIncidentCreateSerializer,
    MajorIncidentListSerializer,
    MajorIncidentSerializer,
    MajorIncidentUpdateCreateSerializer,
    MajorIncidentUpdateSerializer,
    TicketReferencesSerializer,
)

User = get_user_model()


class IsStaff(permissions.BasePermission):
    message = "Only Rx.Health staff manage major incidents."

    def has_permission(self, request, view) -> bool:
        return is_staff(request.user)


EXAMPLE: dict[str, Any] = {
    "id": 3,
    "title": "EHR gateway outage",
    "summary": "Orders and admissions fail at every site.",
    "impact": "high",
    "status": "investigating",
    "sites": ["north-general", "st-marys"],
    "lead": "agent.lee",
    "created_at": "2026-11-25T14:05:00Z",
    "updated_at": "2026-11-25T14:30:00Z",
    "last_public_update_at": "2026-11-25T14:30:00Z",
    "resolved_at": None,
    "tickets": [
        {
            "reference": "RX-1042",
            "site": "st-marys",
            "status": "in_progress",
            "title": "Cannot admit patients",
            "sla": {
                "state": "met",
                "response_due_at": "2026-11-25T15:00:00Z",
                "responded_at": "2026-11-25T14:30:00Z",
                "response_breached": False,
                "response_breached_at": None,
                "next_update_due_at": "2026-11-25T15:30:00Z",
                "estimated_resolution_at": None,
                "escalation_level": 1,
            },
        }
    ],
    "updates": [
        {
            "id": 7,
            "author": "agent.lee",
            "body": "We are restoring the gateway.",
            "public": True,
            "ticket_count": 2,
            "created_at": "2026-11-25T14:30:00Z",
        }
    ],
}
LIST_EXAMPLE = {
    **{k: v for k, v in EXAMPLE.items() if k not in ("tickets", "updates")},
    "ticket_count": 2,
}
E403 = OpenApiResponse(docs.ErrorSerializer, description="Not Rx.Health staff")
COMMON = {**docs.COMMON, 403: E403}


def _tickets_body(summary: str, description: str):
    return extend_schema(
        summary=summary,
        description=description,
        request=TicketReferencesSerializer,
        responses={200: MajorIncidentSerializer, 400: docs.E400, 404: docs.E404, 409: docs.E409}
        | COMMON,
        examples=[OpenApiExample("References", value={"tickets": ["RX-1042"]}, request_only=True)],
    )


@extend_schema_view(
    list=extend_schema(
        summary="List major incidents",
        description="Staff only; newest first, with how many tickets each has linked.",
        responses={200: MajorIncidentListSerializer(many=True), 400: docs.E400, **COMMON},
        examples=[OpenApiExample("A page", value=LIST_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        summary="Declare a major incident",
        description='Staff only. `sites` is a list of slugs or `"all"`.',
        parameters=[docs.IDEMPOTENCY_KEY],
        request=MajorIncidentCreateSerializer,
        responses={201: MajorIncidentSerializer, 400: docs.E400, 422: docs.E422, **COMMON},
        examples=[
            OpenApiExample(
                "Declare",
                value={"title": "EHR gateway outage", "sites": "all"},
                request_only=True,
            ),
            OpenApiExample("Declared", value=EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    ),
    retrieve=extend_schema(
        summary="Read a major incident",
        description="With each linked ticket's SLA state and every update.",
        responses={200: MajorIncidentSerializer, 404: docs.E404, **COMMON},
        examples=[OpenApiExample("A major incident", value=EXAMPLE, response_only=True)],
    ),
    partial_update=extend_schema(
        summary="Change a major incident",
        description=(
            "`status` `resolved` posts the final public update (`resolution`) on every linked "
            "ticket and resolves them."
        ),
        request=MajorIncidentChangeSerializer,
        responses={200: MajorIncidentSerializer, 400: docs.E400, 404: docs.E404, 409: docs.E409}
        | COMMON,
        examples=[
            OpenApiExample(
                "Resolve",
                value={"status": "resolved", "resolution": "The gateway is back."},
                request_only=True,
            ),
            OpenApiExample("Changed", value=EXAMPLE, response_only=True),
        ],
    ),
)
class MajorIncidentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Major incidents (Rx.Health staff only)."""

    serializer_class = MajorIncidentSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaff]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"[0-9]{1,12}"

    def get_queryset(self):
        queryset = MajorIncident.objects.select_related("lead").prefetch_related("sites")
        if self.action == "list":
            return queryset.annotate(ticket_count=Count("tickets")).order_by("-created_at", "-id")
        return queryset.prefetch_related(
            Prefetch(
                "tickets",
                queryset=tickets_visible_to(self.request.user)
                .select_related("site")
                .order_by("site__name", "pk"),
            ),
            Prefetch("updates", queryset=MajorIncidentUpdate.objects.select_related("author")),
        )

    def get_serializer_class(self):
        return MajorIncidentListSerializer if self.action == "list" else MajorIncidentSerializer

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        incident = self.get_queryset().get(pk=pk)
        return Response(MajorIncidentSerializer(incident).data, status=code)

    def _sites(self, slugs):
        if slugs == "all":
            return [], True
        sites = list(ClientSite.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {site.slug for site in sites})
        if missing:
            raise ValidationError({"sites": [f"No site has the slug {', '.join(missing)}."]})
        return sites, False

    def _lead(self, username):
        if username is None:
            return None
        lead = User.objects.filter(username=username, is_staff=True, is_active=True).first()
        if lead is None:
            raise ValidationError({"lead": ["No active Rx.Health staff member has this name."]})
        return lead

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = MajorIncidentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sites, all_sites = self._sites(data["sites"])
        incident = services.major_incident_create(
            actor=request.user,
            title=data["title"],
            summary=data["summary"],
            impact=data["impact"],
            sites=sites,
            all_sites=all_sites,
            lead=self._lead(data.get("lead")),
        )
        return self._detail(incident.pk, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        incident = self.get_object()
        serializer = MajorIncidentChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = services.major_incident_change(
            major_incident=incident, actor=request.user, **serializer.validated_data
        )
        return self._detail(incident.pk)

    @_tickets_body(
        "Link or unlink tickets",
        "`POST` links open incident tickets of affected sites; `DELETE` with the same body "
        "unlinks them. Unknown references are a 400.",
    )
    @action(detail=True, methods=["post", "delete"], url_path="tickets", filter_backends=[])
    @idempotent
    def tickets(self, request, pk=None):
        incident = self.get_object()
        serializer = TicketReferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        references = list(dict.fromkeys(serializer.validated_data["tickets"]))
        tickets = list(tickets_visible_to(request.user).filter(reference__in=references))
        missing = sorted(set(references) - {t.reference for t in tickets})
        if missing:
            raise ValidationError(
                {"tickets": [f"No ticket has the reference {', '.join(missing)}."]}
            )
        if request.method == "DELETE":
            services.major_incident_unlink(
                major_incident=incident, tickets=tickets, actor=request.user
            )
        else:
            services.major_incident_link(
                major_incident=incident, tickets=tickets, actor=request.user
            )
        return self._detail(incident.pk)

    @extend_schema(
        summary="Post an update",
        description=(
            "A public update (the default) becomes a public staff reply on every linked open "
            "ticket (it meets first responses and restarts each site's update cadence) and "
            "emails each person of the affected sites once; `public: false` keeps an internal "
            "note on the major incident."
        ),
        parameters=[docs.IDEMPOTENCY_KEY],
        request=MajorIncidentUpdateCreateSerializer,
        responses={
            201: MajorIncidentUpdateSerializer,
            400: docs.E400,
            404: docs.E404,
            422: docs.E422,
        }
        | COMMON,
        examples=[
            OpenApiExample(
                "An update", value={"body": "We are restoring the gateway."}, request_only=True
            ),
            OpenApiExample(
                "Posted", value=EXAMPLE["updates"][0], response_only=True, status_codes=["201"]
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="updates", filter_backends=[])
    @idempotent
    def updates(self, request, pk=None):
        incident = self.get_object()
        serializer = MajorIncidentUpdateCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        update = services.major_incident_update_post(
            major_incident=incident,
            author=request.user,
            body=serializer.validated_data["body"],
            public=serializer.validated_data["public"],
        )
        update = MajorIncidentUpdate.objects.select_related("author").get(pk=update.pk)
        return Response(MajorIncidentUpdateSerializer(update).data, status=status.HTTP_201_CREATED)

    def get_object(self) -> MajorIncident:
        try:
            return MajorIncident.objects.get(pk=self.kwargs["pk"])
        except MajorIncident.DoesNotExist:
            raise Http404 from None
