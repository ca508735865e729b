"""The URL map: back office, signing, public portal and admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

from accounts import views as account_views
from backoffice.views import dossiers as backoffice_dossiers
from backoffice.views import letters as backoffice_letters
from backoffice.views import life as backoffice_life
from backoffice.views import scans as backoffice_scans
from backoffice.views import start as backoffice_start
from backoffice.views import statistics as backoffice_statistics
from backoffice.views import tracking_book as backoffice_book
from dossiers.views import api as dossier_api
from dossiers.views import imports as dossier_imports
from dossiers.views import register as dossier_views
from dossiers.views import reissue as dossier_reissue
from publishing.views import lookup as lookup_views
from publishing.views import rating as rating_views
from publishing.views import verify as verify_views
from signing import views as signing_views


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness probe for supervisors and load balancers."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", backoffice_start.start, name="home"),
    path("healthz", healthz, name="healthz"),
    path("dang-nhap/", account_views.SignInView.as_view(), name="login"),
    path("dang-nhap/xac-thuc/", account_views.second_factor, name="second-factor"),
    path("dang-nhap/cai-dat-xac-thuc/", account_views.enrol, name="second-factor-enrol"),
    path("tai-khoan/", account_views.backup_codes, name="account"),
    path("dang-xuat/", auth_views.LogoutView.as_view(), name="logout"),
    path("tiep-nhan/", dossier_views.register, name="register"),
    path("tiep-nhan/xac-nhan/<str:token>/", dossier_views.registered, name="register-done"),
    path(
        "tiep-nhan/giay-hen/<str:token>/<int:dossier_id>.pdf",
        dossier_views.receipt,
        name="receipt-pdf",
    ),
    path("tiep-nhan/cap-lai-ma/", dossier_reissue.reissue, name="reissue-secret"),
    path("tiep-nhan/nhap/", dossier_imports.upload, name="import-upload"),
    path("tiep-nhan/nhap/ket-qua/<str:token>/", dossier_imports.report, name="import-report"),
    *dossier_api.urlpatterns,
    path("api/schema/", dossier_api.schema, name="api-schema"),
    path("ho-so/", backoffice_dossiers.dossier_list, name="dossier-list"),
    path("ho-so/<str:code>/", backoffice_dossiers.dossier_detail, name="dossier-detail"),
    path(
        "ho-so/<str:code>/thao-tac/<slug:action>/",
        backoffice_life.dossier_action,
        name="dossier-action",
    ),
    path("ho-so/<str:code>/lien-thong/", backoffice_life.dossier_transfer, name="dossier-transfer"),
    path("ho-so/<str:code>/phieu-kiem-soat.pdf", backoffice_life.dossier_slip, name="dossier-slip"),
    path(
        "ho-so/<str:code>/van-ban/<int:letter_id>/",
        backoffice_letters.letter_detail,
        name="letter-detail",
    ),
    path(
        "ho-so/<str:code>/van-ban/<int:letter_id>.pdf",
        backoffice_letters.letter_pdf,
        name="letter-pdf",
    ),
    path("ban-quet-loi/", backoffice_scans.refused_list, name="refused-scans"),
    path(
        "ban-quet-loi/luot-nhan/<int:intake_id>/gui-lai/",
        backoffice_scans.resubmit_refused_intake,
        name="resubmit-intake",
    ),
    path(
        "ban-quet-loi/tai-lieu/<int:document_id>/gui-lai/",
        backoffice_scans.resubmit_failed_document,
        name="resubmit-document",
    ),
    path("thu-muc/", backoffice_scans.folder_list, name="watched-folders"),
    path("thong-ke/", backoffice_statistics.statistics, name="statistics"),
    path("thong-ke/xuat.csv", backoffice_statistics.export_csv, name="statistics-csv"),
    path("thong-ke/xuat.xlsx", backoffice_statistics.export_xlsx, name="statistics-xlsx"),
    path("so-theo-doi/", backoffice_book.book_page, name="tracking-book"),
    path(
        "so-theo-doi/so-theo-doi.xlsx",
        backoffice_book.book_xlsx_download,
        name="tracking-book-xlsx",
    ),
    path(
        "so-theo-doi/so-theo-doi.pdf", backoffice_book.book_pdf_download, name="tracking-book-pdf"
    ),
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
