"""Back-office pages for signing officials: batches, review, approve and sign, progress."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from audit.services.record import Action, record
from dossiers.files import sha256_file
from dossiers.models import Document, DocumentState, Role
from dossiers.services.access import role_required, scope
from signing.errors import ApprovalError, SigningError
from signing.models import Batch, BatchItem, Signer
from signing.services.approval import signer_for, unlock_key
from signing.services.batch_run import run_alive, start_signing
from signing.services.batches import BATCH_MAX_AGE, BATCH_SIZE, LOW_CONFIDENCE, batch_counts
from signing.services.decisions import record_decisions

log = logging.getLogger(__name__)

PREVIEW_DPI = 50
"""Resolution of the first-page previews on the review page."""

PREVIEW_TIMEOUT_S = 30
"""Longest time pdftoppm may take to render a preview."""

REJECTED_SHOWN = 200
"""Most rejected documents listed on the clerk's page."""

DOCUMENT_ROLES = (Role.CLERK, Role.OFFICIAL, Role.HEAD)
"""Who may open an office's documents under review and those sent back."""


def _official(request: HttpRequest) -> User:
    """The logged-in user (views here all require login)."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user


def _denied(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "signing/denied.html", {"message": message}, status=403)


@role_required(Role.OFFICIAL)
@require_GET
def batch_list(request: HttpRequest) -> HttpResponse:
    """Batches of the offices the user signs for, with what each holds."""
    batches = (
        scope(Batch.objects.all(), request.user, Role.OFFICIAL)
        .select_related("office", "procedure", "signer")
        .annotate(
            total=Count("items"),
            pending=Count("items", filter=Q(items__decision=BatchItem.Decision.PENDING)),
            signed=Count("items", filter=Q(items__signed_at__isnull=False)),
            rejected=Count("items", filter=Q(items__decision=BatchItem.Decision.REJECTED)),
        )
        .order_by("-pk")[:100]
    )
    return render(
        request,
        "signing/batch_list.html",
        {
            "batches": batches,
            "batch_size": BATCH_SIZE,
            "batch_hours": int(BATCH_MAX_AGE.total_seconds() // 3600),
        },
    )


@sensitive_post_parameters("passphrase")
@role_required(Role.OFFICIAL)
@require_http_methods(["GET", "POST"])
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Review a batch; on POST, reject the marked items, or approve the rest and sign here."""
    batch = _batch(request, batch_id)
    user = _official(request)
    try:
        signer = signer_for(user, batch)
    except ApprovalError as exc:
        return _denied(request, exc.message_vi)
    items = list(
        batch.items.select_related("document__dossier__procedure", "decided_by").order_by("pk")
    )
    if request.method == "POST":
        _decide(request, batch, signer, user, items)
        return redirect("batch-detail", batch_id=batch.pk)
    alive = run_alive(batch)
    return render(
        request,
        "signing/batch_detail.html",
        {
            "batch": batch,
            "items": items,
            "signer": signer,
            "counts": batch_counts(batch),
            "running": alive,
            "show_progress": alive or batch.state == Batch.State.SIGNING,
            "shown": ",".join(
                str(i.document_id) for i in items if i.decision == BatchItem.Decision.PENDING
            ),
            "low_confidence": LOW_CONFIDENCE,
        },
    )


@sensitive_variables("passphrase", "unlocked")
def _decide(
    request: HttpRequest, batch: Batch, signer: Signer, user: User, items: list[BatchItem]
) -> None:
    """Apply the review form: rejections with reasons, then approval and signing."""
    rejections: dict[int, str] = {}
    for item in items:
        if item.decision != BatchItem.Decision.PENDING:
            continue
        if request.POST.get(f"reject-{item.document_id}"):
            reason = request.POST.get(f"reason-{item.document_id}", "").strip()
            if not reason:
                messages.error(
                    request, f"Cần ghi lý do từ chối hồ sơ {item.document.dossier.code}."
                )
                return
            rejections[item.document_id] = reason
    if request.POST.get("action") == "reject":
        if not rejections:
            messages.error(request, "Chưa đánh dấu hồ sơ nào để trả lại.")
            return
        try:
            record_decisions(batch, user, rejections=rejections, approve_rest=False)
        except ApprovalError as exc:
            messages.error(request, exc.message_vi)
        else:
            messages.success(request, f"Đã trả lại {len(rejections)} hồ sơ cho bộ phận một cửa.")
        return
    passphrase = request.POST.get("passphrase", "").encode()
    if not passphrase:
        messages.error(
            request,
            "Nhập mã PIN thiết bị ký số để phê duyệt và ký."
            if signer.on_token
            else "Nhập mật khẩu khóa ký để phê duyệt và ký.",
        )
        return
    shown_raw = request.POST.get("shown")
    shown = None
    if shown_raw is not None:
        shown = {int(v) for v in shown_raw.split(",") if v.strip().isdigit()}
    try:
        unlocked = unlock_key(signer, passphrase)
    except SigningError as exc:  # ApprovalError too
        messages.error(request, exc.message_vi)
        return
    finally:
        del passphrase
    try:
        try:
            record_decisions(batch, user, rejections=rejections, expected_documents=shown)
        except BaseException:
            unlocked.close()
            raise
        # from here start_signing owns the key: it closes a token session when done
        started = start_signing(batch, user, unlocked.signer, release=unlocked.close)
        del unlocked
    except SigningError as exc:  # ApprovalError too
        messages.error(request, exc.message_vi)
        return
    if started == "signed":
        counts = batch_counts(batch)
        messages.success(
            request, f"Đã ký {counts['signed']} tài liệu, từ chối {counts['rejected']}."
        )
    elif started == "started":
        messages.success(request, "Đang ký các tài liệu đã phê duyệt; tiến độ hiện bên dưới.")
    else:
        messages.error(request, "Lô đang được ký ở một phiên khác; tiến độ hiện bên dưới.")


@role_required(Role.OFFICIAL)
@require_GET
def batch_progress(request: HttpRequest, batch_id: int) -> JsonResponse:
    """The signing progress of a batch, as JSON, for the review page to poll."""
    batch = _batch(request, batch_id)
    try:
        signer_for(_official(request), batch)
    except ApprovalError as exc:
        return JsonResponse({"error": exc.message_vi}, status=403)
    running = run_alive(batch)
    return JsonResponse(
        {
            "batch": batch.pk,
            "state": batch.state,
            "run": {
                "running": running,
                "done": batch.progress_done,
                "total": batch.progress_total,
                "percent": batch.progress_percent,
            },
            "items": batch_counts(batch),
            "error": batch.last_error,
        },
        headers={"Cache-Control": "no-store"},
    )


def _batch(request: HttpRequest, batch_id: int) -> Batch:
    """The batch, if it belongs to an office the user signs for; else 404."""
    batches = scope(
        Batch.objects.select_related("office", "procedure"), request.user, Role.OFFICIAL
    )
    return get_object_or_404(batches, pk=batch_id)


def _reviewable(request: HttpRequest, document_id: int) -> Document:
    """The document, if the user works in its office; else 404 (its existence stays hidden)."""
    documents = scope(
        Document.objects.select_related("dossier"),
        request.user,
        *DOCUMENT_ROLES,
        via="dossier__office",
    )
    return get_object_or_404(documents, pk=document_id)


@role_required(*DOCUMENT_ROLES)
@require_GET
def document_pdf(request: HttpRequest, document_id: int) -> FileResponse:
    """The document under review, for a signer of its office."""
    document = _reviewable(request, document_id)
    path = Path(document.signed_path or document.pdf_path)
    if not path.is_file():
        raise Http404
    record(
        Action.DOWNLOADED,
        request=request,
        office=document.dossier.office_id,
        obj=document,
        sha256=document.signed_sha256 if document.signed_path else document.pdf_sha256,
    )
    return FileResponse(path.open("rb"), content_type="application/pdf")


@role_required(*DOCUMENT_ROLES)
@require_GET
def document_preview(request: HttpRequest, document_id: int) -> FileResponse:
    """A small PNG of the document's first page, rendered once and kept in the data dir."""
    document = _reviewable(request, document_id)
    pdf = Path(document.pdf_path)
    if not pdf.is_file():
        raise Http404
    png = _preview(pdf, document.pdf_sha256 or sha256_file(pdf))
    if png is None:
        raise Http404
    record(
        Action.VIEWED,
        request=request,
        office=document.dossier.office_id,
        obj=document,
        sha256=document.pdf_sha256,
        detail={"preview": True},
    )
    response = FileResponse(png.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _preview(pdf: Path, digest: str) -> Path | None:
    """Render (or find) the preview of ``pdf``, named by its content hash."""
    folder = Path(settings.DATA_DIR) / "cache" / "xem-truoc"
    png = folder / f"{digest}.png"
    if png.is_file():
        return png
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f".{digest}.{secrets.token_hex(4)}"
    rendered = Path(f"{stem}.png")  # pdftoppm -singlefile adds the extension
    try:
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                str(PREVIEW_DPI),
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(stem),
            ],
            check=True,
            capture_output=True,
            timeout=PREVIEW_TIMEOUT_S,
        )
        os.replace(rendered, png)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("preview of %s failed: %s", pdf.name, exc)
        rendered.unlink(missing_ok=True)
        return None
    return png


@role_required(*DOCUMENT_ROLES)
@require_GET
def rejected_list(request: HttpRequest) -> HttpResponse:
    """Documents sent back to the one-stop desk, with the official's reason."""
    documents = scope(
        Document.objects.filter(state=DocumentState.REJECTED),
        request.user,
        *DOCUMENT_ROLES,
        via="dossier__office",
    ).select_related("dossier__procedure", "dossier__office", "batch_item__decided_by")
    return render(
        request,
        "signing/rejected_list.html",
        {"documents": documents.order_by("-state_changed_at")[:REJECTED_SHOWN]},
    )
