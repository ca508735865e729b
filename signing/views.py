"""Back-office pages for signing officials: batches, review, approve and sign."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from dossiers.models import Document
from signing.approval import ApprovalError, approve_batch, signer_for
from signing.errors import SigningError
from signing.keys import load_pkcs12_signer
from signing.models import Batch, Signer


def _official(request: HttpRequest) -> User:
    """The logged-in user (views here all require login)."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user


@login_required
def batch_list(request: HttpRequest) -> HttpResponse:
    """Batches of the offices the user signs for."""
    offices = Signer.objects.filter(user=_official(request), active=True).values_list(
        "office", flat=True
    )
    batches = (
        Batch.objects.filter(office__in=offices).select_related("office").order_by("-pk")[:100]
    )
    return render(request, "signing/batch_list.html", {"batches": batches})


@login_required
@require_http_methods(["GET", "POST"])
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Review a batch; on POST, unlock the key with the passphrase and sign here."""
    batch = get_object_or_404(Batch.objects.select_related("office"), pk=batch_id)
    try:
        signer = signer_for(_official(request), batch)
    except ApprovalError as exc:
        return render(request, "signing/denied.html", {"message": exc.message_vi}, status=403)
    items = batch.items.select_related("document", "document__dossier__procedure").order_by("pk")
    if request.method == "POST":
        rejections = {
            item.document_id: request.POST.get(f"reason-{item.document_id}", "").strip()
            or "Từ chối"
            for item in items
            if request.POST.get(f"reject-{item.document_id}")
        }
        passphrase = request.POST.get("passphrase", "").encode()
        try:
            key = load_pkcs12_signer(Path(signer.pkcs12_path), passphrase)
            del passphrase
            results = approve_batch(batch, _official(request), key, rejections=rejections)
        except (ApprovalError, SigningError) as exc:
            messages.error(request, exc.message_vi)
        else:
            signed = sum(1 for r in results if r.outcome == "signed")
            messages.success(request, f"Đã ký {signed} tài liệu, từ chối {len(rejections)}.")
        return redirect("batch-detail", batch_id=batch.pk)
    return render(
        request, "signing/batch_detail.html", {"batch": batch, "items": items, "signer": signer}
    )


@login_required
def document_pdf(request: HttpRequest, document_id: int) -> FileResponse:
    """The document under review, for a signer of its office."""
    document = get_object_or_404(Document.objects.select_related("dossier"), pk=document_id)
    if not Signer.objects.filter(
        user=_official(request), office=document.dossier.office_id, active=True
    ).exists():
        raise Http404
    path = Path(document.signed_path or document.pdf_path)
    if not path.is_file():
        raise Http404
    return FileResponse(path.open("rb"), content_type="application/pdf")
