"""CSV export (django-import-export), export only: staff download what they may view."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV
from import_export.forms import ExportForm


class CsvExportMixin(ExportMixin):
    """An "Export" button on the changelist that downloads the filtered rows as CSV.

    Whoever may view the rows may export them; nothing is ever imported. The export query
    follows ``export_select_related`` so that it runs in one query, not one per row."""

    export_form_class = ExportForm
    export_select_related: tuple[str, ...] = ()

    def get_export_formats(self) -> list[type]:
        return [CSV]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_export_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_export_queryset(request)
        return queryset.select_related(*self.export_select_related)
