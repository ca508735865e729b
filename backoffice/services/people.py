"""Who uses which back-office page: the roles each page admits."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from dossiers.models import Role

__all__ = [
    "DOSSIER_ROLES",
    "FOLDER_ROLES",
    "LEAD_ROLES",
    "RESUBMIT_ROLES",
    "SCAN_ROLES",
    "STATISTICS_ROLES",
    "Person",
]

Person = AbstractBaseUser | AnonymousUser
"""The person asking (``request.user``)."""

DOSSIER_ROLES = (Role.CLERK, Role.OFFICIAL, Role.HEAD)
"""Who may list, search and open the dossiers of their office (with applicants' data)."""

SCAN_ROLES = (Role.CLERK, Role.HEAD)
"""Who may see the refused scans of their office and why."""

RESUBMIT_ROLES = (Role.CLERK,)
"""Who sends a fixed scan back in: the one-stop desk."""

FOLDER_ROLES = (Role.CLERK, Role.HEAD, Role.ADMIN)
"""Who may see the watched folders of their office (names and counts, no personal data)."""

LEAD_ROLES = (Role.OFFICIAL, Role.HEAD)
"""Whose start page puts overdue and soon-due dossiers and pending batches first."""

STATISTICS_ROLES = (Role.HEAD, Role.ADMIN)
"""Who sees the statistics of their offices: heads their own, an administrator the offices
below too (a province's administrator the province rolled up with its districts and communes)."""
