from django.conf import settings
from django.core.paginator import InvalidPage
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class ApiPagination(PageNumberPagination):
    """Page numbers with `page_size` up to a maximum: more than the maximum gives the maximum;
    a page past the end gives the last page; a page that is not a positive number is a 400."""

    page_size_query_param = "page_size"

    @property
    def page_size(self):
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except (TypeError, ValueError):
            raise ValidationError({"page_size": ["Must be a whole number."]}) from None
        if size < 1:
            raise ValidationError({"page_size": ["Must be 1 or more."]})
        return min(size, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        raw = request.query_params.get(self.page_query_param) or "1"
        if raw == "last":
            number = None
        else:
            try:
                number = int(raw) if len(raw) <= 12 else None
            except (TypeError, ValueError):
                number = None
            if number is None or number < 1:
                raise ValidationError({"page": ["Must be a whole number of 1 or more."]})
        paginator = self.django_paginator_class(queryset, page_size)
        if number is None or number > paginator.num_pages:
            number = paginator.num_pages
        try:
            self.page = paginator.page(number)
        except InvalidPage as exc:  # pragma: no cover - guarded above
            raise ValidationError({"page": [str(exc)]}) from exc
        return list(self.page)
