"""The page a rating link opens: it records the good/bad rating at once (the link works once
and only for the person it was sent to, signed in) and offers an optional comment."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from satisfaction.services import COMMENT_MAX_CHARS, rating_comment, rating_record, rating_target
from tickets.actors import AuthenticatedHttpRequest
from tickets.errors import DomainError


class RatingCommentForm(forms.Form):
    comment = forms.CharField(
        label="Anything to add? (optional)",
        max_length=COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Please do not include patient information.",
    )


TITLES = {
    "rating_link_invalid": "This rating link does not work",
    "rating_link_expired": "This rating link has expired",
    "rating_other_user": "This rating link is not yours",
    "rating_used": "Already rated",
}


def _refusal(request: HttpRequest, exc: DomainError, token: str) -> HttpResponse:
    context: dict[str, object] = {
        "title": TITLES.get(exc.code, "Rating"),
        "error": exc.message,
        "token": token,
    }
    rating = getattr(exc, "rating", None)
    if rating is not None:
        context.update(rating=rating, ticket=rating.ticket)
        if not rating.comment:
            context["form"] = RatingCommentForm()
    return render(request, "portal/rating.html", context, status=exc.status_code)


@login_required
@require_http_methods(["GET"])
def rating(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """Sign-in first (a mail scanner that opens the link records nothing), then record."""
    try:
        given = rating_record(token=token, user=request.user)
    except DomainError as exc:
        return _refusal(request, exc, token)
    context = {
        "title": "Thank you",
        "rating": given,
        "ticket": given.ticket,
        "form": RatingCommentForm(),
        "just_rated": True,
        "token": token,
    }
    return render(request, "portal/rating.html", context)


@login_required
@require_POST
def rating_comment_post(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    try:
        _, ticket = rating_target(token=token, user=request.user)
    except DomainError as exc:
        return _refusal(request, exc, token)
    form = RatingCommentForm(request.POST)
    if form.is_valid():
        try:
            rating_comment(token=token, user=request.user, comment=form.cleaned_data["comment"])
        except DomainError as exc:
            if exc.field is None:
                return _refusal(request, exc, token)
            form.add_error("comment", exc.message)
        else:
            messages.success(request, "Thank you: your comment is recorded.")
            return redirect(reverse("ticket-detail", args=[ticket.reference]))
    context = {"title": "Your comment", "form": form, "ticket": ticket, "token": token}
    return render(request, "portal/rating.html", context, status=400)
