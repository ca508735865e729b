"""The URL map: back office, signing, public portal and admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView
from django.views.i18n import set_language

from dossiers import views as dossier_views
from publishing.views import lookup as lookup_views
from publishing.views import rating as rating_views
from publishing.views import verify as verify_views
from signing import views as signing_views


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness probe for supervisors and load balancers."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", TemplateView.as_view(template_name="motcua/home.html"), name="home"),
    path("healthz", healthz, name="healthz"),
    path("dang-nhap/", auth_views.LoginView.as_view(), name="login"),
    path("dang-xuat/", auth_views.LogoutView.as_view(), name="logout"),
    path("tiep-nhan/", dossier_views.register, name="register"),
    path("ky-duyet/", signing_views.batch_list, name="batch-list"),
    path("ky-duyet/<int:batch_id>/", signing_views.batch_detail, name="batch-detail"),
    path(
        "ky-duyet/<int:batch_id>/tien-do.json",
        signing_views.batch_progress,
        name="batch-progress",
    ),
    path("ky-duyet/tu-choi/", signing_views.rejected_list, name="rejected-list"),
    path(
        "ky-duyet/tai-lieu/<int:document_id>.pdf", signing_views.document_pdf, name="document-pdf"
    ),
    path(
        "ky-duyet/tai-lieu/<int:document_id>/xem-truoc.png",
        signing_views.document_preview,
        name="document-preview",
    ),
    path("tra-cuu/", lookup_views.lookup, name="lookup"),
    path("tra-cuu/tai-ve/<str:token>/", lookup_views.download, name="download"),
    path("kiem-tra/", verify_views.verify, name="verify"),
    path("kiem-tra/<str:code>/", verify_views.verify_code, name="verify-code"),
    path("danh-gia/<str:token>/", rating_views.rate, name="rating"),
    # The language is no secret and no privilege, so its switch needs no CSRF token: it then
    # works on the pages that send no referrer (a lookup result), where a token cannot.
    path("ngon-ngu/", csrf_exempt(set_language), name="set_language"),
    path("quan-tri/", admin.site.urls),
]
