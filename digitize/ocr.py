"""Tesseract OCR of one page: plain text, word confidence and an invisible text-layer PDF."""

from __future__ import annotations

import csv
import io
import os
import secrets
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from digitize.errors import OcrError, OcrTimeout
from digitize.pages import PageImage

__all__ = ["OcrSettings", "PageOcr", "ocr_page"]

_OUTPUTS = ("pdf", "txt", "tsv")
"""Tesseract config files (renderers) asked for in the single run on each page."""

_STDERR_TAIL = 2000
"""How many characters of Tesseract's error output an error keeps as detail."""


@dataclass(frozen=True)
class OcrSettings:
    lang: str = "vie"
    """Tesseract language models, joined by "+" (e.g. "vie" or "vie+eng")."""

    timeout_s: float = 300.0
    """Seconds one page may take before Tesseract is killed and the page retried."""

    tesseract_cmd: str = "tesseract"
    """The Tesseract executable: a name looked up on PATH or a full path."""

    detect_inverted: bool = False
    """Let Tesseract re-read doubtful lines as white-on-black text. Off by default: pages
    reach it as dark text on light paper, and the second reading of every doubtful
    line costs about a sixth of its time on an ordinary page for the same text."""


@dataclass(frozen=True)
class PageOcr:
    text: str
    """NFC-normalised plain text of the page."""

    confidence: float
    """Mean word confidence, 0 to 100 (words Tesseract scores -1 are ignored); 0.0 with no words."""

    text_pdf: Path
    """Tesseract's one-page PDF holding only the invisible text layer, sized like the page."""


def ocr_page(
    page: PageImage, outdir: Path, settings: OcrSettings, *, image: Path | None = None
) -> PageOcr:
    """Recognise one page with a single Tesseract run writing PDF, text and TSV together.

    Tesseract reads ``image`` when given: the normalised grey copy that
    :func:`digitize.prepare.prepare_page` makes, which must have the page's pixel
    size so that the text layer lies exactly over the kept image; otherwise it
    reads the page image itself. Outputs are ``outdir/<page stem>.pdf``, ``.txt``
    and ``.tsv``; they are written under a temporary name and renamed, so a rerun
    replaces them whole. The child runs with ``OMP_THREAD_LIMIT=1`` (pages are
    parallelised by the caller) and the page's resolution. Raises
    :class:`OcrTimeout` when the run exceeds ``settings.timeout_s`` and
    :class:`OcrError` when Tesseract cannot run or fails.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    stem = page.path.stem
    temp_base = outdir / f".{stem}.{os.getpid()}.{secrets.token_hex(4)}"
    produced = {ext: Path(f"{temp_base}.{ext}") for ext in _OUTPUTS}
    final = {ext: outdir / f"{stem}.{ext}" for ext in _OUTPUTS}
    try:
        _run_tesseract(page, image or page.path, temp_base, settings)
        missing = [ext for ext, path in produced.items() if not path.is_file()]
        if missing:
            raise OcrError(
                f"Nhận dạng chữ trang {stem} không tạo đủ kết quả",
                detail=f"missing outputs: {', '.join(missing)}",
            )
        for ext in _OUTPUTS:
            os.replace(produced[ext], final[ext])
    finally:
        for path in produced.values():
            path.unlink(missing_ok=True)
    return PageOcr(
        text=_page_text(final["txt"]),
        confidence=_mean_confidence(final["tsv"]),
        text_pdf=final["pdf"],
    )


def _run_tesseract(page: PageImage, image: Path, output_base: Path, settings: OcrSettings) -> None:
    """Run Tesseract once on the page's image, mapping its failures to digitize errors."""
    command = [
        settings.tesseract_cmd,
        str(image),
        str(output_base),
        "--dpi",
        str(page.dpi),
        "-l",
        settings.lang,
        "-c",
        "textonly_pdf=1",
        "-c",
        f"tessedit_do_invert={int(settings.detect_inverted)}",
        *_OUTPUTS,
    ]
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    stem = page.path.stem
    try:
        completed = subprocess.run(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=settings.timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OcrTimeout(
            f"Nhận dạng chữ trang {stem} vượt quá thời gian cho phép "
            f"({settings.timeout_s:g} giây); sẽ thử lại",
        ) from None
    except OSError as exc:
        raise OcrError(
            "Không chạy được chương trình nhận dạng chữ Tesseract trên máy xử lý",
            disposition="retry",
            detail=f"{settings.tesseract_cmd}: {exc.strerror or type(exc).__name__}",
        ) from None
    if completed.returncode != 0:
        stderr = completed.stderr.decode("utf-8", "replace")[-_STDERR_TAIL:]
        raise OcrError(
            f"Nhận dạng chữ trang {stem} thất bại (mã lỗi Tesseract {completed.returncode})",
            # Killed by a signal (e.g. out of memory) may pass on another try.
            disposition="retry" if completed.returncode < 0 else "fail",
            detail=stderr,
        )


def _page_text(path: Path) -> str:
    """Tesseract's text output, NFC, without the trailing page separator and blank lines."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return unicodedata.normalize("NFC", text).strip("\f\n\r\t ")


def _mean_confidence(path: Path) -> float:
    """Mean confidence of the recognised words in a Tesseract TSV file (0.0 with none)."""
    reader = csv.DictReader(
        io.StringIO(path.read_text(encoding="utf-8", errors="replace")),
        delimiter="\t",
        quoting=csv.QUOTE_NONE,
    )
    scores: list[float] = []
    for row in reader:
        if row.get("level") != "5" or not (row.get("text") or "").strip():
            continue
        try:
            score = float(row.get("conf") or -1)
        except ValueError:
            continue
        if score >= 0:
            scores.append(score)
    return sum(scores) / len(scores) if scores else 0.0
