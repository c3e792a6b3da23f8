"""Two-factor sign-in (django-otp): an authenticator app (TOTP) with one-time recovery codes.

Required for every staff account when TWO_FACTOR_REQUIRED_FOR_STAFF is on (the default when
HTTPS is on, that is in production); optional for site members. A wrong code at sign-in counts
toward the account's lockout like a wrong password."""

from collections.abc import Callable

import segno
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import devices_for_user, match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tickets.actors import Actor

RECOVERY_CODE_COUNT = 10
_DEVICE_NAME = "Authenticator app"


def two_factor_required(user: Actor) -> bool:
    """Whether this account may not use the portal or admin without a second factor."""
    return bool(user.is_staff and settings.TWO_FACTOR_REQUIRED_FOR_STAFF)


def two_factor_enabled(user: Actor) -> bool:
    return user_has_device(user, confirmed=True)


def two_factor_check(*, request: HttpRequest | None, user: Actor, code: str):
    """The device that accepts `code` for `user` (TOTP or a recovery code, which is used up),
    or None; a wrong code is reported as a failed sign-in, so it counts toward the lockout."""
    code = "".join(code.split())
    device = match_token(user, code) if code else None
    if device is None:
        user_login_failed.send(
            sender=__name__,
            credentials={"username": user.get_username()},
            request=request,
        )
    return device


def two_factor_enrolment_start(*, user: Actor) -> TOTPDevice:
    """The account's unconfirmed authenticator device (made once, kept until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_DEVICE_NAME, confirmed=False)
    return device


def two_factor_enrolment_confirm(*, user: Actor, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirms the device when `code` is right and returns fresh recovery codes (to show
    once); None when the code is wrong."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        if not device.verify_token("".join(code.split())):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        return _recovery_codes_replace(user=user)


def two_factor_recovery_codes_renew(*, user: Actor) -> list[str]:
    """New recovery codes; the old ones stop working."""
    with transaction.atomic():
        return _recovery_codes_replace(user=user)


def _recovery_codes_replace(*, user: Actor) -> list[str]:
    static, _ = StaticDevice.objects.get_or_create(
        user=user, name="Recovery codes", defaults={"confirmed": True}
    )
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    return codes


def two_factor_disable(*, user: Actor) -> bool:
    """Removes the authenticator and the recovery codes; refused (False) where two-factor is
    required for the account."""
    if two_factor_required(user):
        return False
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=None):
            device.delete()
    return True


def recovery_codes_left(user: Actor) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def qr_code_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an inline SVG (drawn here: nothing loads elsewhere)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4)


_EXEMPT_URL_NAMES = {"two-factor", "logout", "login"}


class TwoFactorRequiredMiddleware:
    """A staff session without a verified second factor reaches only the two-factor page
    (to enrol) and sign-out, when two-factor is required."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not two_factor_required(user):
            return None
        if user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.url_name in _EXEMPT_URL_NAMES:
            return None
        if request.path.startswith(settings.STATIC_URL):
            return None
        if request.path.startswith("/api/"):
            from portal.api.exceptions import error_body

            detail = "Set up two-factor sign-in in the portal first, or use an API token."
            return JsonResponse(
                error_body(status_code=403, code="two_factor_required", detail=detail),
                status=403,
            )
        if two_factor_enabled(user):
            # Signed in some other way than with a code (an old session): sign in again.
            logout(request)
            return redirect(settings.LOGIN_URL)
        return redirect(reverse("two-factor"))
