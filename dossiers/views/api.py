"""The import API: JSON in, each row's outcome out, for a person's token; described by OpenAPI."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dossiers.models import Role
from dossiers.services.access import has_role
from dossiers.services.api_tokens import ImportThrottle, TokenAuthentication
from dossiers.services.imports import MAX_ROWS, import_as
from dossiers.services.registry import CSV_COLUMNS


class TokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """How the OpenAPI document describes :class:`TokenAuthentication`."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <mã truy cập>`: mã của một cán bộ tiếp nhận, tạo bằng "
            "`python -m django api_token <tên đăng nhập>`; chỉ nhập được vào cơ quan của người đó.",
        }


class ImportSchema(AutoSchema):
    """The operation's name in the OpenAPI document, for clients generated from it."""

    def get_operation_id(self) -> str:
        return "dossiers_import"


class IsClerk(BasePermission):
    message = "Mã truy cập này không thuộc cán bộ tiếp nhận của cơ quan nào."

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_role(request.user, Role.CLERK)


class RowSerializer(serializers.Serializer[dict[str, str]]):
    code = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="Để trống: mã tự sinh."
    )
    office = serializers.CharField(max_length=64, help_text="Mã cơ quan (Office.code).")
    procedure = serializers.CharField(max_length=64, help_text="Mã thủ tục của cơ quan.")
    applicant_name = serializers.CharField(max_length=255)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    received_at = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="YYYY-MM-DD HH:MM hoặc DD/MM/YYYY HH:MM, giờ Việt Nam; trống: lúc nhận.",
    )


class ImportRequestSerializer(serializers.Serializer[dict[str, Any]]):
    dossiers = serializers.ListField(child=RowSerializer(), allow_empty=False, max_length=MAX_ROWS)


class OutcomeSerializer(serializers.Serializer[dict[str, Any]]):
    line = serializers.IntegerField(help_text="Thứ tự hồ sơ trong danh sách, từ 1.")
    code = serializers.CharField()
    ok = serializers.BooleanField()
    error = serializers.CharField(help_text="Lý do từ chối, tiếng Việt; trống khi tiếp nhận.")
    due_at = serializers.CharField(help_text="Hẹn trả kết quả (ISO 8601); trống khi từ chối.")
    secret = serializers.CharField(
        allow_null=True, help_text="Mã tra cứu, chỉ trả về một lần: in lên giấy hẹn, không lưu."
    )


class ImportResponseSerializer(serializers.Serializer[dict[str, Any]]):
    registered = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = OutcomeSerializer(many=True)


@extend_schema(
    summary="Tiếp nhận hồ sơ hàng loạt",
    description=(
        f"Tối đa {MAX_ROWS} hồ sơ mỗi lần, các trường như tệp CSV ({', '.join(CSV_COLUMNS)}). "
        "Mỗi hồ sơ được xử lý riêng: hồ sơ lỗi hay của cơ quan khác bị từ chối kèm lý do, "
        "các hồ sơ khác vẫn được tiếp nhận. Mã tra cứu chỉ có trong câu trả lời này."
    ),
    request=ImportRequestSerializer,
    responses={
        200: ImportResponseSerializer,
        400: OpenApiResponse(description="Dữ liệu không đúng dạng (không hồ sơ nào được nhận)."),
        401: OpenApiResponse(description="Thiếu hoặc sai mã truy cập."),
        403: OpenApiResponse(description="Người giữ mã không phải cán bộ tiếp nhận."),
        429: OpenApiResponse(description="Gửi quá nhiều yêu cầu; thử lại sau Retry-After giây."),
    },
)
class DossierImport(APIView):
    """Register dossiers in the token owner's offices; rows of other offices are refused."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated, IsClerk]
    throttle_classes = [ImportThrottle]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    schema = ImportSchema()

    def post(self, request: Request) -> Response:
        incoming = ImportRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        rows = [
            {c: row.get(c, "") for c in CSV_COLUMNS} for row in incoming.validated_data["dossiers"]
        ]
        report = import_as(request.user, rows, first_line=1)
        results = [
            {
                "line": o.line,
                "code": o.code,
                "ok": o.registered is not None,
                "error": o.error_vi,
                "due_at": o.registered.dossier.due_at.isoformat() if o.registered else "",
                "secret": o.registered.secret if o.registered else None,
            }
            for o in report.outcomes
        ]
        body = {
            "registered": len(report.registered),
            "refused": len(report.refused),
            "results": results,
        }
        response = Response(body)
        response["Cache-Control"] = "no-store"  # the answer carries lookup secrets
        return response


urlpatterns: list[URLPattern] = [
    path("api/v1/dossiers/import/", DossierImport.as_view(), name="api-import"),
]
"""The API's addresses, included by ``motcua.urls``; the OpenAPI document describes these."""

schema = SpectacularAPIView.as_view(
    patterns=urlpatterns,
    authentication_classes=[],  # a public description: no password is ever checked here
    custom_settings={
        "TITLE": "motcua API",
        "DESCRIPTION": "Tiếp nhận hồ sơ từ hệ thống một cửa khác, bằng mã truy cập của cán bộ.",
        "VERSION": "1",
    },
)
"""``GET /api/schema/``: the OpenAPI 3 document (YAML, or JSON when asked)."""
