import math

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_PAGE_DIGITS = 12


class ApiPagination(PageNumberPagination):
    """Page numbers with `page_size` up to a maximum: more than the maximum gives the maximum;
    a page past the end gives the last page; a page that is not a positive number is a 400.

    An exact COUNT(*) reads every matching row, so a page would cost more the more tickets
    there are. The count stops at API_COUNT_LIMIT (`count_capped` is then true and `count` is
    that limit); pages beyond it still work, and `next` is known by reading one row more than
    the page. Only a page past the end of a result larger than the limit counts it all, to find
    the last page."""

    page_size_query_param = "page_size"
    template = "rest_framework/pagination/previous_and_next.html"

    # Properties, read per request, so a settings change applies (DRF declares attributes).
    @property
    def page_size(self):  # type: ignore[override]
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self):  # type: ignore[override]
        return settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        if raw.isascii() and raw.isdigit() and raw.strip("0"):
            # However many digits: more than the maximum gives the maximum (SPEC), never an error.
            if len(raw) > MAX_PAGE_DIGITS:
                return self.max_page_size
            return min(int(raw), self.max_page_size)
        raise ValidationError({"page_size": ["Must be a whole number of 1 or more."]})

    def _page_number(self, request) -> int | None:
        """The page asked for; None for `last`."""
        raw = request.query_params.get(self.page_query_param) or "1"
        if raw in self.last_page_strings:
            return None
        try:
            number = int(raw) if len(raw) <= MAX_PAGE_DIGITS else None
        except (TypeError, ValueError):
            number = None
        if number is None or number < 1:
            raise ValidationError({"page": ["Must be a whole number of 1 or more, or 'last'."]})
        return number

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.display_page_controls = True
        size = self.get_page_size(request)
        number = self._page_number(request)
        limit = settings.API_COUNT_LIMIT
        counted = queryset.order_by()[: limit + 1].count()
        self.capped = counted > limit
        self.count = min(counted, limit)

        def last_page(total: int) -> int:
            return max(1, math.ceil(total / size))

        if not self.capped:
            number = min(number or last_page(counted), last_page(counted))
        elif number is None:
            number = last_page(queryset.count())
        rows = list(queryset[(number - 1) * size : number * size + 1])
        if not rows and number > 1:
            # Past the end of a result larger than the count limit: find the real last page.
            number = last_page(queryset.count())
            rows = list(queryset[(number - 1) * size : number * size + 1])
        self.number = number
        self.has_next = len(rows) > size
        return rows[:size]

    def get_next_link(self):
        if not self.has_next:
            return None
        if self.request is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.number + 1)

    def get_previous_link(self):
        if self.number <= 1:
            return None
        if self.request is None:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.count,
                "count_capped": self.capped,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        base = super().get_paginated_response_schema(schema)
        base["properties"]["count_capped"] = {
            "type": "boolean",
            "description": "True when there are more results than `count` (the count limit).",
            "example": False,
        }
        base["required"] = ["count", "count_capped", "results"]
        return base

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Results per page (default {self.page_size}); more than "
                    f"{self.max_page_size} gives {self.max_page_size}."
                )
            elif parameter["name"] == self.page_query_param:
                whole = {"type": "integer", "minimum": 1}
                parameter["schema"] = {"oneOf": [whole, {"type": "string", "enum": ["last"]}]}
        return parameters

    def get_html_context(self):
        return {"previous_url": self.get_previous_link(), "next_url": self.get_next_link()}
