"""The one domain error type. Faces turn it into messages: the DRF exception handler into a
400/403/409 response, the forms and admin into field errors."""


class DomainError(Exception):
    """A rule of the domain refused the request. `field` names the input at fault, if any."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class NotAllowed(DomainError):
    """The caller's role may not do this (a viewer filing a ticket, for example)."""

    status_code = 403

    def __init__(self, message: str, *, field: str | None = None, code: str = "not_allowed"):
        super().__init__(message, field=field, code=code)


class Conflict(DomainError):
    """The request is valid but the ticket's state does not allow it now."""

    status_code = 409

    def __init__(self, message: str, *, field: str | None = None, code: str = "conflict"):
        super().__init__(message, field=field, code=code)
