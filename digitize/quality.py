"""Scan-quality gate: resolution, blank, dark and faint pages, low OCR confidence, in Vietnamese."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from digitize.compression import ColourMode
from digitize.errors import DigitizeError
from digitize.findings import Finding
from digitize.levels import GreyLevels, estimate_noise, grey_levels
from digitize.pages import PageImage, load_page_image

__all__ = [
    "PageQuality",
    "QualitySettings",
    "check_pages",
    "confidence_findings",
    "inspect_page",
    "orientation_finding",
]

_PAPER_SIDES_IN = ((3.5, 12.5), (4.9, 17.5))
"""Plausible short and long sides, in inches, of a document page (A6 to A3 with slack)."""

_A4_SHORT_IN = 210 / 25.4
"""Short side of an A4 sheet in inches: the paper assumed when the recorded size is implausible."""


@dataclass(frozen=True)
class QualitySettings:
    min_dpi: int = 200
    """Lowest resolution accepted for a digitized copy; below it the page is rescanned."""

    measure_dpi: int = 100
    """Resolution of the downscaled grey copy on which a page is measured."""

    blank_cells: int = 6
    """Fewer inked cells than this and a page is blank (dust and specks only)."""

    near_blank_cells: int = 24
    """Fewer inked cells than this and a page is nearly blank (a page number, a mark)."""

    too_dark_paper: int = 100
    """Paper darker than this grey level (0 black … 255 white): too dark, rescanned."""

    dark_paper: int = 150
    """Paper darker than this grey level: dark, flagged for review."""

    unreadable_contrast: int = 20
    """Ink fewer grey levels below the paper than this: too faint to read, rescanned."""

    faint_contrast: int = 64
    """Ink fewer grey levels below the paper than this: faint, flagged for review."""

    min_signal_to_noise: float = 5.0
    """Ink-to-paper contrast over the scan's noise below which the text drowns in the
    noise (Tesseract then reads nothing, slowly): rescanned."""

    faint_signal_to_noise: float = 10.0
    """Contrast over noise below which a page is flagged as faint for review."""

    low_confidence: float = 70.0
    """Mean OCR word confidence below which a page is flagged for review."""

    colour_mode: ColourMode = "auto"
    """How the procedure stores colour (:data:`~digitize.compression.ColourMode`): under
    ``colour`` a page scanned grey or bilevel is sent back to be scanned in colour, as an
    electronic copy must be; the page's image is stored accordingly."""


@dataclass(frozen=True)
class PageQuality:
    number: int
    """Page number, from 1."""

    effective_dpi: int
    """Resolution to use for the page: the recorded one, or an estimate from an A4 sheet
    when the recorded one gives an implausible paper size."""

    levels: GreyLevels
    """Paper, ink and noise levels measured on the downscaled copy."""

    noise: float
    """Noise of the scan at full resolution, in grey levels (what Tesseract sees)."""

    findings: tuple[Finding, ...] = field(default_factory=tuple)
    """What the gate found on this page."""

    @property
    def blank(self) -> bool:
        """Whether the page was found blank."""
        return any(f.code == "blank" for f in self.findings)


def check_pages(
    pages: Sequence[PageImage], settings: QualitySettings | None = None
) -> list[PageQuality]:
    """Inspect every page of a document and add the findings that need all of them.

    A blank page in a dossier with other content is only flagged (the back of a
    sheet); when every page is blank, each blank finding blocks.
    """
    settings = settings or QualitySettings()
    return document_rules(
        [inspect_page(page, number, settings) for number, page in enumerate(pages, 1)]
    )


def document_rules(inspected: Sequence[PageQuality]) -> list[PageQuality]:
    """Add to pages inspected one by one the findings that need all of them."""
    if inspected and all(quality.blank for quality in inspected):
        return [
            replace(quality, findings=tuple(map(_blocking_blank, quality.findings)))
            for quality in inspected
        ]
    return list(inspected)


def _blocking_blank(finding: Finding) -> Finding:
    """A blank-page finding made blocking, for a document with no content at all."""
    if finding.code != "blank":
        return finding
    return replace(
        finding,
        severity="block",
        message_vi=f"{finding.message_vi}; cả hồ sơ không có trang nào có nội dung, "
        "đề nghị kiểm tra và quét lại",
    )


def inspect_page(
    page: PageImage,
    number: int,
    settings: QualitySettings | None = None,
    *,
    image: Image.Image | None = None,
) -> PageQuality:
    """Measure one page on a downscaled grey copy and say what is wrong with it.

    ``image`` is the page's decoded pixels when the caller has them (the page
    splitter does), else the page's file is read. An image that cannot be read
    raises :class:`~digitize.errors.DigitizeError` (retry: the page splitter has
    just written it, so a second look may pass).
    """
    settings = settings or QualitySettings()
    try:
        if image is not None:
            grey = image if image.mode == "L" else image.convert("L")
        else:
            with load_page_image(page.path) as decoded:
                grey = decoded.convert("L")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DigitizeError(
            f"Không đọc được ảnh trang {number} để kiểm tra chất lượng; sẽ thử lại",
            disposition="retry",
            detail=f"{type(exc).__name__}: {exc}"[:300],
        ) from None
    effective, scale_finding = _effective_dpi(page, number)
    factor = max(1, round(effective / settings.measure_dpi))
    small = grey.reduce(factor) if factor > 1 else grey
    levels = grey_levels(np.asarray(small))
    noise = estimate_noise(np.asarray(grey))
    findings: list[Finding] = []
    if scale_finding is not None:
        findings.append(scale_finding)
    findings.extend(_resolution(page, number, effective, scale_finding is not None, settings))
    findings.extend(_colour(page, number, settings))
    findings.extend(_exposure(number, levels, noise, settings))
    return PageQuality(number, effective, levels, noise, tuple(findings))


def confidence_findings(
    number: int, confidence: float, *, blank: bool = False, settings: QualitySettings | None = None
) -> list[Finding]:
    """The finding for a page whose OCR confidence is low (none for a blank page)."""
    settings = settings or QualitySettings()
    if blank or confidence >= settings.low_confidence:
        return []
    return [
        Finding(
            "low_confidence",
            "warn",
            number,
            f"Trang {number}: độ tin cậy nhận dạng chữ thấp ({confidence:.0f}/100); "
            "đề nghị đối chiếu với bản giấy khi ký duyệt",
            round(confidence, 1),
        )
    ]


def orientation_finding(number: int) -> Finding:
    """The finding for a page whose orientation could not be decided with confidence."""
    return Finding(
        "orientation_uncertain",
        "warn",
        number,
        f"Trang {number}: không xác định chắc chắn chiều của trang; đề nghị kiểm tra "
        "trang có bị ngược hoặc xoay ngang không",
    )


def _effective_dpi(page: PageImage, number: int) -> tuple[int, Finding | None]:
    """The page's resolution, or an estimate when the recorded one gives an implausible size."""
    short_px, long_px = sorted((page.width, page.height))
    short_in, long_in = short_px / page.dpi, long_px / page.dpi
    (short_lo, short_hi), (long_lo, long_hi) = _PAPER_SIDES_IN
    if short_lo <= short_in <= short_hi and long_lo <= long_in <= long_hi:
        return page.dpi, None
    estimate = max(1, round(short_px / _A4_SHORT_IN))
    finding = Finding(
        "implausible_scale",
        "warn",
        number,
        f"Trang {number}: ảnh {page.width} × {page.height} điểm ảnh ghi {page.dpi} dpi, "
        f"tức khổ {_cm(page.width / page.dpi)} × {_cm(page.height / page.dpi)} cm, "
        f"không giống khổ giấy hồ sơ; coi là khổ A4 thì độ phân giải khoảng {estimate} dpi",
        float(estimate),
    )
    return estimate, finding


def _cm(inches: float) -> str:
    """A length in centimetres, one decimal, Vietnamese decimal comma."""
    return f"{inches * 2.54:.1f}".replace(".", ",")


def _resolution(
    page: PageImage, number: int, effective: int, estimated: bool, settings: QualitySettings
) -> list[Finding]:
    """The blocking finding for a page below the minimum resolution."""
    if effective >= settings.min_dpi:
        return []
    what = f"độ phân giải {effective} dpi"
    if estimated:
        what = (
            f"ảnh chỉ có {page.width} × {page.height} điểm ảnh, độ phân giải thực tế "
            f"khoảng {effective} dpi nếu là trang khổ A4"
        )
    return [
        Finding(
            "low_resolution",
            "block",
            number,
            f"Trang {number}: {what}, thấp hơn mức tối thiểu {settings.min_dpi} dpi; "
            "đề nghị quét lại",
            float(effective),
        )
    ]


def _colour(page: PageImage, number: int, settings: QualitySettings) -> list[Finding]:
    """The blocking finding for a page scanned without colour where colour is required."""
    if settings.colour_mode != "colour" or page.mode == "RGB":
        return []
    how = "đen trắng" if page.mode == "1" else "thang xám"
    return [
        Finding(
            "not_colour",
            "block",
            number,
            f"Trang {number}: thủ tục này lưu bản màu (bản sao điện tử, giấy tờ có con dấu) "
            f"nhưng trang được quét {how}; đề nghị quét lại ở chế độ màu",
        )
    ]


def _exposure(
    number: int, levels: GreyLevels, noise: float, settings: QualitySettings
) -> list[Finding]:
    """Findings about the page's content and exposure: dark, blank, faint, nearly blank."""
    if levels.paper < settings.too_dark_paper:
        return [
            Finding(
                "too_dark",
                "block",
                number,
                f"Trang {number}: ảnh quét quá tối (nền giấy ở mức xám {levels.paper:.0f}/255); "
                "đề nghị chỉnh độ sáng và quét lại",
                levels.paper,
            )
        ]
    findings: list[Finding] = []
    if levels.paper < settings.dark_paper:
        findings.append(
            Finding(
                "dark",
                "warn",
                number,
                f"Trang {number}: ảnh quét tối (nền giấy ở mức xám {levels.paper:.0f}/255); "
                "đề nghị kiểm tra độ rõ khi ký duyệt",
                levels.paper,
            )
        )
    if levels.inked_cells < settings.blank_cells:
        findings.append(
            Finding(
                "blank",
                "warn",
                number,
                f"Trang {number}: trang trắng, không có nội dung",
                float(levels.inked_cells),
            )
        )
        return findings
    snr = levels.contrast / max(noise, 1.0)
    if levels.contrast < settings.unreadable_contrast or snr < settings.min_signal_to_noise:
        findings.append(
            Finding(
                "too_faint",
                "block",
                number,
                f"Trang {number}: chữ quá mờ so với nền (chữ chỉ đậm hơn nền "
                f"{levels.contrast:.0f} mức xám, nhiễu {noise:.0f}), không đọc được; "
                "đề nghị tăng độ đậm và quét lại",
                levels.contrast,
            )
        )
        return findings
    if levels.contrast < settings.faint_contrast or snr < settings.faint_signal_to_noise:
        findings.append(
            Finding(
                "faint",
                "warn",
                number,
                f"Trang {number}: chữ mờ (chữ chỉ đậm hơn nền {levels.contrast:.0f} mức xám, "
                f"nhiễu {noise:.0f}); đề nghị đối chiếu với bản giấy khi ký duyệt",
                levels.contrast,
            )
        )
    if levels.inked_cells < settings.near_blank_cells:
        findings.append(
            Finding(
                "near_blank",
                "warn",
                number,
                f"Trang {number}: trang gần như trắng, rất ít nội dung",
                float(levels.inked_cells),
            )
        )
    return findings
