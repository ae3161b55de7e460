from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.analytics_views import analytics_view
from config.input import AsciiIdConverter
from config.member_views import member_360_view
from config.views import email_preview, email_preview_index, favicon

register_converter(AsciiIdConverter, "id")

handler400 = "config.api.handler400"
handler403 = "config.api.handler403"
handler404 = "config.api.handler404"
handler500 = "config.api.handler500"

urlpatterns = [
    path("", include("loyalty.urls")),
    path("", include("referrals.urls")),
    path("me/", include("portal.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("admin/emails/", email_preview_index, name="email_preview_index"),
    path("admin/emails/<str:name>/<str:language>/", email_preview, name="email_preview"),
    path("admin/analytics/", admin.site.admin_view(analytics_view), name="analytics"),
    path("admin/members/<int:pk>/", admin.site.admin_view(member_360_view), name="member_360"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("loyalty.api_urls")),
    path("api/v1/", include("rewards.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Browsers ask for /favicon.ico on pages without an icon link (the admin, the API docs).
    path("favicon.ico", favicon, name="favicon"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
