"""Tesseract OCR of one page, in process: text, word confidences and the words' places."""

from __future__ import annotations

import os
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from digitize.errors import OcrError, OcrTimeout
from digitize.pages import PageImage, load_page_image
from digitize.textlayer import Line, PageLayout, Word, write_layout

if TYPE_CHECKING:
    from tesserocr import PyTessBaseAPI  # type: ignore[import-untyped]

__all__ = [
    "OcrSettings",
    "PageOcr",
    "find_tessdata",
    "layout_text",
    "mean_confidence",
    "ocr_page",
    "recognise",
    "sideways",
    "write_page_ocr",
]

TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
"""Where Debian and other systems keep Tesseract's language models, searched in order
after ``TESSDATA_PREFIX``."""


@dataclass(frozen=True)
class OcrSettings:
    lang: str = "vie"
    """Tesseract language models, joined by "+" (e.g. "vie" or "vie+eng")."""

    timeout_s: float = 300.0
    """Seconds the recognition of one page may take before it is abandoned and retried."""

    tessdata: str = ""
    """Folder holding the ``.traineddata`` models; empty: ``TESSDATA_PREFIX``, then
    :data:`TESSDATA_DIRS` (the system's models, from Debian's tesseract-ocr packages)."""

    recover_marked_lines: bool = True
    """Read again, with the mark lifted, the lines where a seal or a signature left ink
    unread (:mod:`digitize.recovery`); costs nothing on a page all of whose ink was read."""

    detect_inverted: bool = False
    """Let Tesseract re-read doubtful lines as white-on-black text. Off by default: pages
    reach it as dark text on light paper, and the second reading of every doubtful
    line costs about a sixth of its time on an ordinary page for the same text."""


@dataclass(frozen=True)
class PageOcr:
    text: str
    """NFC-normalised plain text of the page: words joined by spaces, lines by newlines."""

    confidence: float
    """Mean word confidence, 0 to 100 (words Tesseract scores below 0 are ignored); 0.0
    with no words."""

    layout: Path
    """The recognised lines and words with their places (:mod:`digitize.textlayer`), from
    which assembly draws the invisible text layer."""


def ocr_page(
    page: PageImage,
    outdir: Path,
    settings: OcrSettings,
    *,
    image: Image.Image | None = None,
) -> PageOcr:
    """Recognise one page with a single Tesseract recognition, and write its layout.

    Tesseract reads ``image`` when given (the upright grey copy that
    :func:`digitize.prepare.prepare_images` makes, the page's pixel size), else
    the page's image file. The layout goes to ``outdir/<page stem>.json``,
    written under a temporary name and renamed, so a rerun replaces it whole.
    Raises :class:`OcrTimeout` past ``settings.timeout_s`` and :class:`OcrError`
    when the models cannot be loaded or recognition fails.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    if image is None:
        image = _open(page)
    layout = recognise(image, page.dpi, settings, name=page.path.stem)
    return write_page_ocr(layout, outdir / f"{page.path.stem}.json")


def write_page_ocr(layout: PageLayout, path: Path) -> PageOcr:
    """Write a page's layout to ``path`` (atomically, folder made) and sum it up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_layout(layout, path)
    return PageOcr(text=layout_text(layout), confidence=mean_confidence(layout), layout=path)


def recognise(
    image: Image.Image, dpi: int, settings: OcrSettings, *, name: str = "", block: bool = False
) -> PageLayout:
    """The lines and words Tesseract recognises on a page image at ``dpi``.

    The engine of this process for ``settings`` (models loaded once) reads the
    image's pixels from memory; no file is written. ``block`` reads the image as one
    block of lines (a strip of a page) instead of finding its layout.
    """
    grey = image if image.mode in ("L", "RGB") else image.convert("L")
    engine = _engine(settings)
    with engine.lock:
        api = engine.api
        api.SetPageSegMode(_BLOCK if block else _AUTO)
        api.SetImageBytes(
            grey.tobytes(),
            grey.width,
            grey.height,
            len(grey.getbands()),
            grey.width * len(grey.getbands()),
        )
        try:
            api.SetSourceResolution(dpi)
            if not api.Recognize(timeout=max(1, round(settings.timeout_s * 1000))):
                raise OcrTimeout(
                    f"Nhận dạng chữ trang{' ' + name if name else ''} vượt quá thời gian cho "
                    f"phép ({settings.timeout_s:g} giây) hoặc bị gián đoạn; sẽ thử lại",
                )
            lines = _lines(api)
        finally:
            api.Clear()  # the results and the image go, the models stay
    return PageLayout(width=grey.width, height=grey.height, dpi=dpi, lines=lines)


def layout_text(layout: PageLayout) -> str:
    """The plain text of a layout: words by spaces, lines by newlines (NFC)."""
    return "\n".join(" ".join(word.text for word in line.words) for line in layout.lines)


def find_tessdata(settings: OcrSettings) -> Path:
    """The folder of Tesseract's models that holds every language of ``settings``.

    Raises :class:`OcrError` (fail) naming the missing models when none does.
    """
    wanted = [lang for lang in settings.lang.split("+") if lang]
    candidates = [settings.tessdata] if settings.tessdata else []
    if not settings.tessdata:
        prefix = os.environ.get("TESSDATA_PREFIX", "")
        candidates += [prefix, str(Path(prefix) / "tessdata")] if prefix else []
        candidates += list(TESSDATA_DIRS)
    for folder in candidates:
        if wanted and all((Path(folder) / f"{lang}.traineddata").is_file() for lang in wanted):
            return Path(folder)
    raise OcrError(
        f"Máy xử lý thiếu dữ liệu nhận dạng chữ cho ngôn ngữ '{settings.lang}' "
        "(cài gói tesseract-ocr-vie)",
        disposition="fail",
        detail=f"no {settings.lang} models in: {', '.join(candidates)}",
    )


@dataclass
class _Engine:
    api: PyTessBaseAPI
    """Tesseract's API with its models loaded."""

    lock: threading.Lock
    """One recognition at a time on this API (it is not thread-safe)."""


_AUTO = 3
"""Tesseract's page segmentation mode that finds the page's layout (``PSM.AUTO``)."""

_BLOCK = 6
"""Tesseract's page segmentation mode for one uniform block of text (``PSM.SINGLE_BLOCK``)."""

_ENGINES: dict[tuple[int, OcrSettings], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(settings: OcrSettings) -> _Engine:
    """This process's Tesseract for ``settings``, created on first use.

    Keyed by process id too: a forked worker makes its own rather than sharing
    one inherited from its parent.
    """
    key = (os.getpid(), settings)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _Engine(api=_start(settings), lock=threading.Lock())
            _ENGINES[key] = engine
        return engine


def _start(settings: OcrSettings) -> PyTessBaseAPI:
    """Load Tesseract's models for ``settings`` into a new API."""
    # Pages are parallelised by the caller, one process a page: Tesseract's own
    # threads would only compete with them.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        from tesserocr import OEM, PSM, PyTessBaseAPI
    except ImportError as exc:
        raise OcrError(
            "Máy xử lý chưa cài thư viện nhận dạng chữ Tesseract (tesserocr)",
            disposition="retry",
            detail=str(exc),
        ) from None
    tessdata = find_tessdata(settings)
    try:
        api = PyTessBaseAPI(
            path=f"{tessdata}/", lang=settings.lang, oem=OEM.DEFAULT, psm=PSM.AUTO, init=True
        )
    except RuntimeError as exc:
        raise OcrError(
            f"Không nạp được dữ liệu nhận dạng chữ cho ngôn ngữ '{settings.lang}'",
            disposition="fail",
            detail=f"{tessdata}: {exc}"[:300],
        ) from None
    api.SetVariable("tessedit_do_invert", "1" if settings.detect_inverted else "0")
    return api


def _lines(api: PyTessBaseAPI) -> tuple[Line, ...]:
    """The recognised lines of the current page, in reading order, with their words."""
    from tesserocr import RIL

    iterator = api.GetIterator()
    if iterator is None:
        return ()
    lines: list[Line] = []
    words: list[Word] = []
    baseline: tuple[int, int, int, int] | None = None
    box: tuple[int, int, int, int] | None = None

    def close() -> None:
        if words and baseline is not None and box is not None:
            lines.append(Line(baseline=baseline, box=box, words=tuple(words)))

    while True:
        if not iterator.Empty(RIL.WORD):
            if iterator.IsAtBeginningOf(RIL.TEXTLINE):
                close()
                words = []
                box = iterator.BoundingBox(RIL.TEXTLINE)
                points = iterator.Baseline(RIL.TEXTLINE)
                baseline = (
                    (points[0][0], points[0][1], points[1][0], points[1][1])
                    if points
                    else (box[0], box[3], box[2], box[3])
                )
            text = unicodedata.normalize("NFC", iterator.GetUTF8Text(RIL.WORD) or "").strip()
            word_box = iterator.BoundingBox(RIL.WORD)
            if text and word_box is not None:
                words.append(
                    Word(text=text, box=word_box, confidence=iterator.Confidence(RIL.WORD))
                )
        if not iterator.Next(RIL.WORD):
            break
    close()
    return tuple(lines)


def sideways(layout: PageLayout) -> int:
    """The clockwise turn (90 or 270) that a reading says its page needs, or 0.

    Tesseract finds and reads lines that run down a page turned a quarter clockwise; when
    most of the characters it read lie on such lines, the page lies on its side.
    """
    down = up = across = 0
    for line in layout.lines:
        x1, y1, x2, y2 = line.baseline
        characters = sum(len(word.text) for word in line.words)
        if abs(y2 - y1) <= abs(x2 - x1):
            across += characters
        elif y2 > y1:
            down += characters
        else:
            up += characters
    if max(down, up) <= across:
        return 0
    return 270 if down >= up else 90


def mean_confidence(layout: PageLayout) -> float:
    """Mean confidence of the recognised words (0.0 with none)."""
    scores = [w.confidence for line in layout.lines for w in line.words if w.confidence >= 0]
    return sum(scores) / len(scores) if scores else 0.0


def _open(page: PageImage) -> Image.Image:
    """Decode a page image file (raises OcrError, to be retried, when it cannot be read)."""
    try:
        image = load_page_image(page.path)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise OcrError(
            f"Không đọc được ảnh trang {page.path.stem} để nhận dạng chữ; sẽ thử lại",
            disposition="retry",
            detail=f"{type(exc).__name__}: {exc}"[:300],
        ) from None
    return image
