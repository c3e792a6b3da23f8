"""Admin pages of records staff read and no one writes, for the apps beside the back office
(configuration versions, ratings, received mail, evidence). A plain module, outside the
`admin` package, so those apps' admin modules can use it while that package loads."""

from typing import Any

from django.http import HttpRequest

from tickets.selectors import is_staff


class StaffRecordMixin:
    """A record staff read and no one writes (versions, ratings, received mail, evidence):
    visible to every active staff member, never added, changed or deleted here."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
