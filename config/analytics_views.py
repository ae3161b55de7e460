"""The staff analytics page: figures for a date range, charts, and each table as CSV."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.backoffice.report import Period, analytics_report
from config.backoffice.tables import report_charts, report_tables
from loyalty.timing import local_date

MAX_DAYS = 5 * 366


def default_period(today: date) -> Period:
    """The last twelve months: from the first of the month eleven months ago to today."""
    first = today.replace(day=1)
    for _month in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first=first, last=today)


class PeriodForm(forms.Form):
    first = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    last = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first and last and first > last:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        if first and last and (last - first).days > MAX_DAYS:
            raise forms.ValidationError(_("Choose at most five years."))
        return data


def _period(request: HttpRequest) -> tuple[PeriodForm, Period]:
    fallback = default_period(local_date(timezone.now()))
    if "first" not in request.GET:
        initial = {"first": fallback.first, "last": fallback.last}
        return PeriodForm(initial=initial), fallback
    form = PeriodForm(request.GET)
    if form.is_valid():
        return form, Period(first=form.cleaned_data["first"], last=form.cleaned_data["last"])
    return form, fallback


def _csv(table, period: Period) -> HttpResponse:
    response = HttpResponse(table.csv(), content_type="text/csv; charset=utf-8")
    name = f"analytics-{table.slug}-{period.first}-{period.last}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def analytics_view(request: HttpRequest) -> HttpResponse:
    """Staff with ``config.view_analytics`` (wrapped by the admin site's ``admin_view``)."""
    if not request.user.has_perm("config.view_analytics"):
        raise PermissionDenied
    form, period = _period(request)
    report = analytics_report(period=period)
    tables = report_tables(report)
    if download := request.GET.get("download"):
        if download not in tables:
            raise Http404
        return _csv(tables[download], period)
    context = {
        **admin.site.each_context(request),
        "title": _("Analytics"),
        "form": form,
        "period": period,
        "report": report,
        "tables": tables,
        "charts": report_charts(report),
        "query": request.GET.urlencode(),
    }
    return TemplateResponse(request, "staff/analytics.html", context)
