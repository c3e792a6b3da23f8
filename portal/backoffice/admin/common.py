"""What every back-office page shares: staff-only access, read-only record inlines, the
links and labels of the notification ledger, and `ServiceAdminMixin`, the one place where a
refused service call (DomainError) becomes a form error."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from tickets.errors import DomainError
from tickets.models import Notification, Ticket
from tickets.selectors import is_staff

BACKOFFICE_CSS = {"all": ("backoffice/backoffice.css",)}
FORM = "form"  # the page's main form, as a refusal's target (else a formset's prefix)

T = TypeVar("T")


class StaffWorkMixin:
    """Working the queue is every active staff member's job: no per-model permission needed.
    Nothing here is ever deleted; history and the outbox are the record."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return self.fields


@dataclass
class Refusal:
    """A service's refusal, kept for the page shown again: on which form (FORM or a
    formset's prefix), which field (None: the whole form) and what it said."""

    target: str
    field: str | None
    message: str


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def _showing(form_class: type[T], refusal: Refusal) -> type[T]:
    """The form (or formset) class, validating as before and then reporting the refusal."""

    def clean(self: Any) -> Any:
        cleaned = super(shown, self).clean()
        if isinstance(self, forms.BaseForm):
            field = refusal.field if refusal.field in self.fields else None
            self.add_error(field, refusal.message)
            return cleaned
        raise forms.ValidationError(refusal.message)

    metaclass: Callable[..., type[T]] = type(form_class)  # a form's is Django's declarative one
    shown = metaclass(form_class.__name__, (form_class,), {"clean": clean})
    return shown


class ServiceAdminMixin:
    """A page whose writes are services, called from `save_model` / `save_formset` through
    `service_call`. A refusal rolls back admin's transaction whole (nothing of the submission
    is kept) and the page is shown again from the same POST, its validation reporting the
    refusal on the field it concerns; no service runs a second time."""

    def service_call(
        self,
        request: HttpRequest,
        call: Callable[[], T],
        *,
        target: str = FORM,
        aliases: dict[str, str] | None = None,
    ) -> T:
        try:
            return call()
        except DomainError as exc:
            field = (aliases or {}).get(exc.field or "", exc.field)
            raise Refused(Refusal(target=target, field=field, message=exc.message)) from exc

    def changeform_view(
        self, request: HttpRequest, object_id=None, form_url="", extra_context=None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except Refused as refused:
            request.service_refusal = refused.refusal  # type: ignore[attr-defined]
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        form.request = request
        refusal = getattr(request, "service_refusal", None)
        return _showing(form, refusal) if refusal and refusal.target == FORM else form

    def get_formsets_with_inlines(self, request: HttpRequest, obj: Any = None):
        refusal = getattr(request, "service_refusal", None)
        for formset, inline in super().get_formsets_with_inlines(request, obj):  # type: ignore[misc]
            if refusal and refusal.target == formset.get_default_prefix():
                formset = _showing(formset, refusal)
            yield formset, inline


def adopt(instance: Any, created: Any) -> None:
    """Make admin's unsaved instance the object a service created, so admin's message,
    log entry and redirect name it."""
    vars(instance).update(vars(created))


def event_label(event: str) -> str:
    """The readable name of an email event; webhook rows keep their own names."""
    return dict(Notification.Event.choices).get(event, event)


def ticket_admin_link(ticket: Ticket | None) -> str:
    """A link to the ticket's back-office page, or a dash."""
    if ticket is None:
        return "-"
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    return format_html('<a href="{}">{}</a>', url, ticket.reference)


def notification_status_html(obj: Notification) -> str:
    return format_html(
        '<span class="notification-{}">{}</span>', obj.status, obj.get_status_display()
    )
