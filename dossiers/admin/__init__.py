"""The administrators' pages (``/quan-tri/``), in Vietnamese, scoped to each person's offices.

The site's titles are set here, once; :mod:`dossiers.admin.scoping` holds the gate every
page of every package goes through; the pages of this package are in ``offices``,
``records`` and ``users``.
"""

from django.contrib import admin

from dossiers.admin import letters, offices, records, users

admin.site.site_header = "Quản trị hệ thống một cửa"
admin.site.site_title = "Quản trị một cửa"
admin.site.index_title = "Danh mục quản trị"
admin.site.empty_value_display = "—"

__all__ = ["letters", "offices", "records", "users"]
