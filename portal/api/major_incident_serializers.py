"""What the major-incident API reads and writes: the serializers of incidents, their linked
tickets and their updates."""

from drf_spectacular.utils import (
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from tickets.actors import Actor
from tickets.models import (
    ClientSite,
    Impact,
    MajorIncident,
    MajorIncidentUpdate,
    Ticket,
)

from .serializers import NoNulCharField, SLASerializer, StrictBooleanField


class LinkedTicketSerializer(serializers.ModelSerializer):
    site: "serializers.SlugRelatedField[ClientSite]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    sla = SLASerializer(source="*", read_only=True)

    class Meta:
        model = Ticket
        fields = ["reference", "site", "status", "title", "sla"]
        read_only_fields = fields


class MajorIncidentUpdateSerializer(serializers.ModelSerializer):
    author: "serializers.SlugRelatedField[Actor]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = MajorIncidentUpdate
        fields = ["id", "author", "body", "public", "ticket_count", "created_at"]
        read_only_fields = fields


class MajorIncidentSerializer(serializers.ModelSerializer):
    sites = serializers.SerializerMethodField()
    lead: "serializers.SlugRelatedField[Actor]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    tickets = LinkedTicketSerializer(many=True, read_only=True)
    updates = MajorIncidentUpdateSerializer(many=True, read_only=True)

    class Meta:
        model = MajorIncident
        fields = [
            "id",
            "title",
            "summary",
            "impact",
            "status",
            "sites",
            "lead",
            "created_at",
            "updated_at",
            "last_public_update_at",
            "resolved_at",
            "tickets",
            "updates",
        ]
        read_only_fields = fields

    def get_sites(self, incident: MajorIncident) -> list[str] | str:
        if incident.all_sites:
            return "all"
        return sorted(site.slug for site in incident.sites.all())


class MajorIncidentListSerializer(MajorIncidentSerializer):
    ticket_count = serializers.IntegerField(read_only=True)

    class Meta(MajorIncidentSerializer.Meta):
        fields = [
            f for f in MajorIncidentSerializer.Meta.fields if f not in ("tickets", "updates")
        ] + ["ticket_count"]
        read_only_fields = fields


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["all"]},
            {"type": "array", "items": {"type": "string", "maxLength": 60}, "minItems": 1},
        ]
    }
)
class SitesField(serializers.Field):
    """`"all"`, or a list of site slugs."""

    def to_internal_value(self, data):
        if data == "all":
            return "all"
        if not isinstance(data, list) or not data or len(data) > 1000:
            raise ValidationError('Give "all" or a list of site slugs (at most 1,000).')
        if not all(isinstance(slug, str) and 0 < len(slug) <= 60 for slug in data):
            raise ValidationError("Each site is a slug (text of at most 60 characters).")
        return list(dict.fromkeys(data))

    def to_representation(self, value):
        return value


class MajorIncidentCreateSerializer(serializers.Serializer):
    title = NoNulCharField(max_length=200)
    summary = NoNulCharField(max_length=5000, required=False, allow_blank=True, default="")
    impact = serializers.ChoiceField(choices=Impact.choices, required=False, default=Impact.HIGH)
    sites = SitesField(help_text='Site slugs, or "all" for every site.')
    lead = NoNulCharField(
        max_length=150, required=False, help_text="Username of the staff member in charge."
    )


class MajorIncidentChangeSerializer(serializers.Serializer):
    title = NoNulCharField(max_length=200, required=False)
    summary = NoNulCharField(max_length=5000, required=False, allow_blank=True)
    impact = serializers.ChoiceField(choices=Impact.choices, required=False)
    status = serializers.ChoiceField(choices=MajorIncident.Status.choices, required=False)
    resolution = NoNulCharField(
        max_length=50_000,
        required=False,
        help_text="With status resolved: the final public update (a default one otherwise).",
    )

    def validate(self, attrs):
        if not attrs:
            raise ValidationError("Send at least one of title, summary, impact, status.")
        return attrs


class TicketReferencesSerializer(serializers.Serializer):
    tickets = serializers.ListField(
        child=NoNulCharField(max_length=20), min_length=1, max_length=1000
    )


class MajorIncidentUpdateCreateSerializer(serializers.Serializer):
    body = NoNulCharField(max_length=50_000)
    public = StrictBooleanField(
        required=False,
        default=True,
        help_text="false keeps it an internal note on the major incident.",
    )
