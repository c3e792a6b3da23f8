"""`Authorization: Bearer <token>` for integrators."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import ApiToken
from .services import api_token_used, token_hash
from .throttling import token_failure_record, token_failures_check


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """A token issued by `issue_api_token` or in admin; it acts as its user."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        # Guessing tokens is throttled per client address, before any lookup.
        token_failures_check(request)
        if len(header) != 2:
            token_failure_record(request)
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <token>'.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            token_failure_record(request)
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        row = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=token_hash(token), revoked_at__isnull=True)
            .first()
        )
        if row is None or not row.user.is_active:
            token_failure_record(request)
            raise exceptions.AuthenticationFailed("The token is not valid or was revoked.")
        api_token_used(token=row, now=timezone.now())
        return row.user, row

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `manage.py issue_api_token USERNAME` or from admin.",
        }
