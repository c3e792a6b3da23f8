"""What the layout's navigation needs, computed only when a page shows it."""

from functools import cached_property

from tickets.selectors import sites_managed_by, sites_where_can_file


class _Nav:
    def __init__(self, user):
        self.user = user

    @cached_property
    def can_file(self) -> bool:
        return sites_where_can_file(self.user).exists()

    @cached_property
    def managed_sites(self) -> list:
        return list(sites_managed_by(self.user).order_by("name"))


def nav(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav": _Nav(user)}
