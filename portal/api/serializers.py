"""Shapes of the API's input and output. Input serializers check only shape (types, lengths,
choices); the rules live in `tickets.services`, which the views call."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets.actors import Actor
from tickets.models import (
    Attachment,
    ClientSite,
    Comment,
    Impact,
    Kind,
    MajorIncident,
    SLAState,
    Status,
    Ticket,
)


class NoNulCharField(serializers.CharField):
    """Text (a JSON string, not a number coerced to one) without NUL characters, which no
    database column can store."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if "\x00" in value:
            raise serializers.ValidationError("Must not contain NUL characters.")
        return value


class StrictBooleanField(serializers.BooleanField):
    """true/false only (and the usual form strings), never a number or a list."""

    def to_internal_value(self, data):
        if isinstance(data, list | dict):
            self.fail("invalid", input=data)
        return super().to_internal_value(data)


class SLASerializer(serializers.Serializer):
    """The ticket's SLA clock, as the SLA engine keeps it on the ticket."""

    state = serializers.ChoiceField(choices=SLAState.choices, source="sla_state")
    response_due_at = serializers.DateTimeField(allow_null=True)
    responded_at = serializers.DateTimeField(allow_null=True)
    response_breached = serializers.SerializerMethodField()
    response_breached_at = serializers.DateTimeField(allow_null=True)
    next_update_due_at = serializers.DateTimeField(allow_null=True)
    estimated_resolution_at = serializers.DateTimeField(allow_null=True)
    escalation_level = serializers.IntegerField()

    @extend_schema_field(serializers.BooleanField())
    def get_response_breached(self, ticket: Ticket) -> bool:
        return ticket.response_breached_at is not None


class AttachmentSerializer(serializers.ModelSerializer):
    """An attachment; `url` downloads it with the same bearer token. The views pass the
    ticket's `reference` (and the request, for an absolute address) in the context."""

    name = serializers.CharField(source="original_name", read_only=True)
    uploaded_by: "serializers.SlugRelatedField[Actor]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "uploaded_by", "created_at", "url"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_url(self, attachment: Attachment) -> str:
        reference = self.context.get("reference") or attachment.ticket.reference
        path = reverse(
            "api-ticket-attachment-file",
            kwargs={"reference": reference, "attachment_id": attachment.pk},
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class TicketSerializer(serializers.ModelSerializer):
    site: "serializers.SlugRelatedField[ClientSite]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    impact = serializers.ChoiceField(
        choices=Impact.choices,
        allow_blank=True,
        read_only=True,
        help_text="Incidents: high, medium or low; other kinds: empty.",
    )
    reporter: "serializers.SlugRelatedField[Actor]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    assignee: "serializers.SlugRelatedField[Actor]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    sla = SLASerializer(source="*", read_only=True)
    major_incident: "serializers.PrimaryKeyRelatedField[MajorIncident]" = (
        serializers.PrimaryKeyRelatedField(
            read_only=True,
            allow_null=True,
            help_text="The id of the major incident it is linked to, or null.",
        )
    )
    attachments = AttachmentSerializer(
        source="visible_attachments",
        many=True,
        read_only=True,
        help_text=(
            "The ticket's files the caller may see (site contacts: not those on internal "
            "notes); each `url` downloads the file with the same token."
        ),
    )

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "site",
            "kind",
            "impact",
            "status",
            "title",
            "description",
            "reporter",
            "assignee",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
            "jira_key",
            "sla",
            "major_incident",
            "attachments",
        ]
        read_only_fields = fields


class TicketEventPayloadSerializer(TicketSerializer):
    """A ticket in a webhook payload: everything but the description, which may hold patient
    data, and the attachments; the receiver reads them through the API with its token."""

    attachments = None  # type: ignore[assignment]  # DRF's way to drop an inherited field

    class Meta(TicketSerializer.Meta):
        fields = [
            f for f in TicketSerializer.Meta.fields if f not in ("description", "attachments")
        ]
        read_only_fields = fields


class TicketCreateSerializer(serializers.Serializer):
    site = serializers.SlugField(max_length=60, help_text="Slug of one of your sites.")
    kind = serializers.ChoiceField(choices=Kind.choices)
    impact = serializers.ChoiceField(
        choices=Impact.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Incidents only: high, medium or low.",
    )
    title = NoNulCharField(max_length=200)
    description = NoNulCharField(max_length=50_000)
    reporter = NoNulCharField(
        max_length=150,
        required=False,
        help_text="Staff only: username of the site's pm or it member filing it.",
    )


class TicketUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    impact = serializers.ChoiceField(choices=Impact.choices, required=False)
    assignee = NoNulCharField(
        max_length=150,
        required=False,
        allow_null=True,
        help_text="Username of an Rx.Health staff member, or null to unassign.",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one of status, impact, assignee.")
        return attrs


class CommentSerializer(serializers.ModelSerializer):
    author: "serializers.SlugRelatedField[Actor]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Comment
        fields = [
            "id",
            "author",
            "by_staff",
            "public",
            "body",
            "estimated_resolution_at",
            "created_at",
            "attachments",
        ]
        read_only_fields = fields


class CommentCreateSerializer(serializers.Serializer):
    body = NoNulCharField(max_length=50_000)
    public = StrictBooleanField(
        required=False, default=True, help_text="Staff only: false makes an internal note."
    )
    estimated_resolution_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Staff only: when the ticket should be resolved (with a time zone).",
    )


class AttachmentCreateSerializer(serializers.Serializer):
    file = serializers.FileField(
        max_length=255,
        allow_empty_file=False,
        help_text=f"At most {settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB.",
    )
