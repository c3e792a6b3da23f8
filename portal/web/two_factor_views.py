"""The two-factor page: enrol an authenticator app, see and renew recovery codes, turn it off
(site members; staff too where it is not required)."""

from base64 import b32encode
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from tickets.actors import AuthenticatedHttpRequest

from .forms import TwoFactorConfirmForm
from .two_factor import (
    qr_code_svg,
    recovery_codes_left,
    two_factor_disable,
    two_factor_enabled,
    two_factor_enrolment_confirm,
    two_factor_enrolment_start,
    two_factor_recovery_codes_renew,
    two_factor_required,
)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    enabled = two_factor_enabled(user)
    required = two_factor_required(user)
    form = TwoFactorConfirmForm()
    codes = None
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "confirm" and not enabled:
        form = TwoFactorConfirmForm(request.POST)
        if form.is_valid():
            device = two_factor_enrolment_start(user=user)
            codes = two_factor_enrolment_confirm(
                user=user, device=device, code=form.cleaned_data["code"]
            )
            if codes is None:
                form.add_error("code", "That code is not right; codes change every 30 seconds.")
            else:
                device.refresh_from_db()
                otp_login(request, device)
                enabled = True
                messages.success(request, "Two-factor sign-in is on.")
    elif action == "renew" and enabled:
        codes = two_factor_recovery_codes_renew(user=user)
        messages.success(request, "New recovery codes: the old ones no longer work.")
    elif action == "disable" and enabled and two_factor_disable(user=user):
        messages.success(request, "Two-factor sign-in is off.")
        return redirect("two-factor")
    elif action is not None:
        return redirect("two-factor")
    context: dict[str, Any] = {
        "enabled": enabled,
        "required": required,
        "codes": codes,
        "codes_left": recovery_codes_left(user) if enabled else 0,
        "form": form,
    }
    if not enabled:
        device = two_factor_enrolment_start(user=user)
        context["qr_svg"] = qr_code_svg(device)
        context["secret"] = _base32(device)
    return render(request, "registration/two_factor.html", context)


def _base32(device) -> str:
    raw = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))
