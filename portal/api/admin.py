from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from history.admin import VersionHistoryMixin

from .models import WEBHOOK_EVENTS, ApiToken, WebhookDelivery, WebhookEndpoint
from .services import api_token_issue, api_token_revoke, webhook_deliveries_resend


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(VersionHistoryMixin, admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username", "prefix"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name"]
        return [
            "user",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
            "configuration_history",
        ]

    def get_readonly_fields(self, request, obj=None):
        return ["user", *super().get_readonly_fields(request, obj)] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        row, token = api_token_issue(
            user=form.cleaned_data["user"], name=obj.name, actor=request.user
        )
        obj.pk = row.pk
        obj.__dict__.update({k: v for k, v in row.__dict__.items() if not k.startswith("_")})
        messages.warning(
            request,
            f"The token for {row.user} is {token} — copy it now: it is not stored and will "
            "not be shown again.",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, actor=request.user)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).")


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WEBHOOK_EVENTS, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["site", "url", "secret", "events", "is_active", "description"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Use an http:// or https:// URL.")
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(VersionHistoryMixin, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "site", "is_active", "event_list", "created_at"]
    list_filter = ["is_active", "site"]
    list_select_related = ["site"]
    search_fields = ["url", "site__name", "description"]

    @admin.display(description="Events")
    def event_list(self, obj):
        return ", ".join(obj.events or [])


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "event",
        "ticket_reference",
        "url",
        "status_code",
        "ok",
        "duration_ms",
        "error",
    ]
    list_filter = ["ok", "event", "endpoint__site"]
    list_select_related = ["notification__ticket", "endpoint"]
    search_fields = ["url", "notification__ticket__reference", "error"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    readonly_fields = [
        "notification",
        "endpoint",
        "event",
        "url",
        "status_code",
        "ok",
        "error",
        "response_excerpt",
        "duration_ms",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Ticket", ordering="notification__ticket__reference")
    def ticket_reference(self, obj):
        return obj.notification.ticket.reference

    @admin.action(description="Send again")
    def send_again(self, request, queryset):
        count = webhook_deliveries_resend(deliveries=queryset)
        self.message_user(
            request, f"{count} message(s) queued to be sent again at {timezone.now():%H:%M:%S}."
        )
