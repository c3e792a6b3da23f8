"""The integrator API's viewsets: parse input, call one service, render output."""

from django.db.models import Prefetch
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from escalation.services import escalation_request
from evidence.models import TicketView
from evidence.services import ticket_view_record
from portal.downloads import attachment_response
from tickets import services
from tickets.models import Attachment, Ticket
from tickets.selectors import (
    attachments_visible_to,
    comments_visible_to,
    reporter_by_username,
    sites_visible_to,
    tickets_visible_to,
)

from . import docs
from .filters import TicketFilter
from .idempotency import idempotent
from .parsers import JSONBodyParser
from .serializers import (
    AttachmentCreateSerializer,
    AttachmentSerializer,
    CommentCreateSerializer,
    CommentSerializer,
    TicketCreateSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
)

REFERENCE_PATTERN = r"[A-Za-z0-9-]{1,20}"


API_FACE = TicketView.Face.API
# The actions that answer with a ticket's JSON, and so need its attachments.
TICKET_JSON_ACTIONS = {"list", "retrieve", "create", "partial_update"}


def _field_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


@extend_schema_view(
    list=docs.TICKET_LIST,
    create=docs.TICKET_CREATE,
    retrieve=docs.TICKET_RETRIEVE,
    partial_update=docs.TICKET_UPDATE,
)
class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Tickets of the caller's sites (every ticket for Rx.Health staff)."""

    serializer_class = TicketSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "reference"
    lookup_value_regex = REFERENCE_PATTERN
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = TicketFilter
    ordering_fields = [
        "created_at",
        "updated_at",
        "status",
        "impact",
        "response_due_at",
        "next_update_due_at",
        "escalation_level",
    ]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        tickets = tickets_visible_to(self.request.user).select_related(
            "site", "reporter", "assignee"
        )
        if self.action not in TICKET_JSON_ACTIONS:
            return tickets
        # One query for the files of the whole page, only those the caller may see.
        files = attachments_visible_to(self.request.user).select_related("uploaded_by")
        return tickets.prefetch_related(
            Prefetch(
                "attachments",
                queryset=files.order_by("created_at", "id"),
                to_attr="visible_attachments",
            )
        )

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        # A stable order for pages: ties on the chosen field fall back to the id.
        if queryset.query.order_by and "-id" not in queryset.query.order_by:
            queryset = queryset.order_by(*queryset.query.order_by, "-id")
        return queryset

    def options(self, request, *args, **kwargs):
        # A ticket's OPTIONS answers like its GET: 404 for a ticket the caller may not see.
        if self.lookup_field in self.kwargs:
            self.get_object()
        return super().options(request, *args, **kwargs)

    def get_object(self) -> Ticket:
        # Tenancy through the selector only: another site's ticket is a plain 404.
        try:
            return self.get_queryset().get(reference=self.kwargs["reference"])
        except Ticket.DoesNotExist:
            raise Http404 from None

    def retrieve(self, request, *args, **kwargs):
        ticket = self.get_object()
        ticket_view_record(
            user=request.user, ticket_id=ticket.pk, what=TicketView.What.DESCRIPTION, face=API_FACE
        )
        return Response(self.get_serializer(ticket).data)

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = TicketCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        site = sites_visible_to(request.user).filter(slug=data["site"]).first()
        if site is None:
            raise _field_error("site", "None of your sites has this slug.")
        reporter = None
        if data.get("reporter"):
            reporter = reporter_by_username(
                actor=request.user, site=site, username=data["reporter"]
            )
        ticket = services.ticket_create(
            actor=request.user,
            site=site,
            kind=data["kind"],
            impact=data.get("impact", ""),
            title=data["title"],
            description=data["description"],
            reporter=reporter,
        )
        ticket = self.get_queryset().get(pk=ticket.pk)
        return Response(
            TicketSerializer(ticket, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request, *args, **kwargs):
        ticket = self.get_object()
        serializer = TicketUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "assignee" in changes:
            changes["assignee_username"] = changes.pop("assignee")
        services.ticket_update(ticket=ticket, actor=request.user, **changes)
        ticket = self.get_queryset().get(pk=ticket.pk)
        return Response(TicketSerializer(ticket, context=self.get_serializer_context()).data)

    @docs.COMMENTS
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="comments",
        parser_classes=[JSONBodyParser, FormParser, MultiPartParser],
        filter_backends=[],
    )
    def comments(self, request, reference=None):
        ticket = self.get_object()
        if request.method == "POST":
            return self._comment_create(request, ticket=ticket)
        comments = comments_visible_to(user=request.user, ticket=ticket).prefetch_related(
            Prefetch(
                "attachments",
                queryset=attachments_visible_to(request.user).select_related("uploaded_by"),
            )
        )
        page = self.paginate_queryset(comments.order_by("created_at", "id"))
        ticket_view_record(
            user=request.user, ticket_id=ticket.pk, what=TicketView.What.THREAD, face=API_FACE
        )
        context = {"request": request, "reference": ticket.reference}
        return self.get_paginated_response(CommentSerializer(page, many=True, context=context).data)

    @idempotent
    def _comment_create(self, request, *, ticket: Ticket):
        serializer = CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        comment = services.comment_post(
            ticket=ticket,
            author=request.user,
            body=data["body"],
            public=data["public"],
            estimated_resolution_at=data["estimated_resolution_at"],
        )
        context = {"request": request, "reference": ticket.reference}
        return Response(
            CommentSerializer(comment, context=context).data, status=status.HTTP_201_CREATED
        )

    @docs.ATTACHMENTS
    @action(
        detail=True,
        methods=["post"],
        url_path="attachments",
        parser_classes=[MultiPartParser, FormParser],
        filter_backends=[],
    )
    @idempotent
    def attachments(self, request, reference=None):
        ticket = self.get_object()
        serializer = AttachmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = services.attachment_add(
            ticket=ticket, uploaded_by=request.user, file=serializer.validated_data["file"]
        )
        attachment = Attachment.objects.select_related("uploaded_by").get(pk=attachment.pk)
        context = {"request": request, "reference": ticket.reference}
        return Response(
            AttachmentSerializer(attachment, context=context).data,
            status=status.HTTP_201_CREATED,
        )

    @docs.ATTACHMENT_FILE
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]{1,12})",
        url_name="attachment-file",
        filter_backends=[],
    )
    def attachment_file(self, request, reference=None, attachment_id=None):
        """The file itself, with the portal download's checks and headers."""
        return attachment_response(
            user=request.user, reference=reference, pk=int(attachment_id), face=API_FACE
        )

    @docs.ESCALATE
    @action(detail=True, methods=["post"], url_path="escalate", filter_backends=[])
    @idempotent
    def escalate(self, request, reference=None):
        ticket = escalation_request(ticket=self.get_object(), actor=request.user)
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
