"""The public rating page: a citizen rates how their dossier was handled, once, by a signed link."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from publishing.models import Rating
from publishing.services.delivery_email import lookup_url
from publishing.services.rating import RatingLinkError, dossier_for, record_rating


class RatingForm(forms.Form):
    score = forms.ChoiceField(
        label=_("Ông/bà có hài lòng với việc giải quyết hồ sơ không?"),
        choices=Rating.Score.choices,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Góp ý (không bắt buộc, tối đa 500 ký tự)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 500}),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the rating form for the dossier the token names, or the rating it already has."""
    try:
        dossier = dossier_for(token)
    except RatingLinkError as error:
        return render(request, "publishing/rating.html", {"error": str(error)}, status=404)
    context: dict[str, object] = {"dossier": dossier, "lookup": lookup_url(dossier)}
    recorded = Rating.objects.filter(dossier=dossier).first()
    if recorded is None:
        form = RatingForm(request.POST if request.method == "POST" else None)
        if not form.is_valid():
            context["form"] = form
            status = 400 if form.is_bound else 200
            return render(request, "publishing/rating.html", context, status=status)
        recorded, created = record_rating(
            dossier, form.cleaned_data["score"], form.cleaned_data["comment"]
        )
        if created:
            return redirect(f"{request.path}?cam-on=1")
    refused = request.method == "POST"
    if refused:
        context["error"] = _("Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ được đánh giá một lần.")
    context.update(rating=recorded, thanks=not refused and request.GET.get("cam-on") == "1")
    return render(request, "publishing/rating.html", context, status=409 if refused else 200)
