"""The digitize benchmark's figures and their table."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.figures import verdict
from tests.support.degrade import HARD_SET

TARGET_OF_BOUND = 0.9
"""motcua's throughput as a share of the Tesseract bound it must reach."""

TARGET_OVER_OCRMYPDF = 1.7
"""How many times OCRmyPDF's throughput motcua must reach."""

TARGET_CER_HARD = 0.03
"""Character error rate motcua must stay under on the hard set."""

TARGET_PEAK_MB = 500.0
"""Peak memory (sum of PSS) of the whole motcua process tree on the 50-page dossier."""

FIRST_HARD_PAGES = 8
"""The hard set's pages before the grey and bilevel seal and signature pages were added:
their CER is printed apart, to compare with earlier runs."""


@dataclass(frozen=True)
class Scan:
    path: Path
    """The scan file given to every tool."""

    text: str
    """The text rendered on the page: the reference for the character error rate."""


@dataclass
class Run:
    tool: str
    """Who produced the output: "motcua", "ocrmypdf" or "tesseract"."""

    pages: int
    """Pages processed."""

    seconds: float
    """Wall-clock time of the command."""

    cpu_seconds: float = 0.0
    """CPU time (user + system) of the command and every process under it: much steadier
    than wall time on a busy machine."""

    output_bytes: int = 0
    """Size of the PDF written (0 for plain Tesseract)."""

    cer: float | None = None
    """Character error rate of the extracted text against the rendered text."""

    page_errors: list[tuple[int, int]] = field(default_factory=list)
    """Edit distance and reference length of each page, in order."""

    peak_tree_mb: float | None = None
    """Highest sum of proportional resident memory (PSS) over the process and all its
    descendants, sampled every 50 ms: what the tree really holds, shared pages counted once."""

    max_process_mb: float | None = None
    """Largest resident memory of any single process of the tree (getrusage)."""

    failed: str = ""
    """Why the run produced nothing usable (empty when it worked)."""

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_per_page(self) -> float:
        return self.cpu_seconds / self.pages if self.pages else 0.0

    @property
    def kb_per_page(self) -> float:
        return self.output_bytes / 1024 / self.pages if self.pages else 0.0


@dataclass
class Figures:
    jobs: int
    tesseract_seconds_per_page: float = 0.0
    tesseract_cpu_per_page: float = 0.0
    bound_pages_per_second: float = 0.0
    engine_seconds_per_page: float = 0.0
    """Single-thread seconds a page of motcua's own engine (Tesseract in process through
    tesserocr, same models): decoding the page and recognising it, nothing else."""
    engine_bound_pages_per_second: float = 0.0
    runs: dict[str, Run] = field(default_factory=dict)


def rate(pages: Sequence[tuple[int, int]]) -> float:
    """Summed edit distance over summed reference length."""
    length = sum(size for _, size in pages)
    return sum(distance for distance, _ in pages) / length if length else 0.0


def progress(run: Run, label: str) -> None:
    """One line for a run as soon as it is over: its pages, time and throughput."""
    status = f"FAILED: {run.failed}" if run.failed else f"{run.pages_per_second:.3f} pages/s"
    print(
        f"  {label}: {run.pages} pages in {run.seconds:.1f} s "
        f"({run.cpu_per_page:.2f} CPU s/page), {status}",
        flush=True,
    )


def print_table(figures: Figures, args: argparse.Namespace) -> None:
    """The figures beside their targets, then the CER of each hard page and any failure."""
    runs = figures.runs
    rows: list[tuple[str, str, str, str, str, str]] = []

    def add(what: str, ours: str, reference: str, ratio: str, target: str, ok: bool | None) -> None:
        rows.append((what, ours, reference, ratio, target, verdict(ok, "ok", "MISSED")))

    clean = runs["motcua clean"]
    ocr = runs.get("ocrmypdf clean")
    bound = figures.bound_pages_per_second
    add(
        f"pages/s, {clean.pages} clean pages, --jobs {figures.jobs}",
        f"{clean.pages_per_second:.3f}",
        f"{bound:.3f} Tesseract bound",
        f"{clean.pages_per_second / bound:.2f}",
        f"≥ {TARGET_OF_BOUND:.2f}",
        None if clean.failed else clean.pages_per_second / bound >= TARGET_OF_BOUND,
    )
    engine = figures.engine_bound_pages_per_second
    if engine:
        add(
            "",
            "",
            f"{engine:.3f} bound of motcua's own engine",
            f"{clean.pages_per_second / engine:.2f}",
            "",
            None,
        )
    if ocr is not None and not ocr.failed:
        speedup = clean.pages_per_second / ocr.pages_per_second
        add(
            "",
            "",
            f"{ocr.pages_per_second:.3f} OCRmyPDF",
            f"{speedup:.2f}",
            f"≥ {TARGET_OVER_OCRMYPDF:.1f}",
            None if clean.failed else speedup >= TARGET_OVER_OCRMYPDF,
        )
    tesseract_cpu = figures.tesseract_cpu_per_page
    if clean.cpu_seconds and tesseract_cpu:
        add(
            "CPU s/page, clean pages",
            f"{clean.cpu_per_page:.2f}",
            f"{tesseract_cpu:.2f} plain tesseract",
            f"{tesseract_cpu / clean.cpu_per_page:.2f}",
            f"≥ {TARGET_OF_BOUND:.2f}",
            tesseract_cpu / clean.cpu_per_page >= TARGET_OF_BOUND,
        )
    if ocr is not None and not ocr.failed and ocr.cpu_seconds:
        add(
            "",
            "",
            f"{ocr.cpu_per_page:.2f} OCRmyPDF",
            f"{ocr.cpu_per_page / clean.cpu_per_page:.2f}",
            "",
            None,
        )
    add(
        "CER, clean pages",
        _percent(clean.cer),
        f"{_percent(ocr.cer)} OCRmyPDF" if ocr and not ocr.failed else "",
        "",
        "",
        None,
    )
    both = runs.get("engine vie+eng")
    if both is not None and clean.cer is not None:
        vie = runs["engine vie"]
        add(
            "engine alone: CER, s/page (vie; vie+eng)",
            f"{_percent(vie.cer)}, {vie.seconds / vie.pages:.2f}",
            f"{_percent(both.cer)}, {both.seconds / both.pages:.2f} with vie+eng",
            "",
            "",
            None,
        )
    hard = runs.get("motcua hard")
    if hard is not None:
        hard_ocr = runs.get("ocrmypdf hard")
        plain = runs["tesseract hard"]
        add(
            f"CER, {hard.pages} hard pages",
            _percent(hard.cer),
            f"{_percent(plain.cer)} plain tesseract",
            "",
            f"< {TARGET_CER_HARD:.0%}",
            None if hard.cer is None else hard.cer < TARGET_CER_HARD,
        )
        if hard_ocr is not None:
            add(
                "",
                "",
                f"{_percent(hard_ocr.cer)} OCRmyPDF --rotate-pages --deskew"
                if not hard_ocr.failed
                else "OCRmyPDF failed",
                "",
                "",
                None,
            )
        for first, pages in ((0, FIRST_HARD_PAGES), (FIRST_HARD_PAGES, len(HARD_SET))):
            group = slice(first, min(pages, hard.pages))
            if not hard.page_errors[group]:
                continue
            what = "pages as the set was" if first == 0 else "grey/bilevel seal, signature"
            others = [f"{_percent(rate(plain.page_errors[group]))} plain tesseract"]
            if hard_ocr is not None and hard_ocr.page_errors:
                others.append(f"{_percent(rate(hard_ocr.page_errors[group]))} OCRmyPDF")
            label = f"CER, hard pages {group.start + 1}-{group.stop} ({what})"
            add(label, _percent(rate(hard.page_errors[group])), ", ".join(others), "", "", None)
    colour, grey = runs.get("motcua colour"), runs.get("motcua grey")
    if colour is not None and grey is not None and not colour.failed and not grey.failed:
        add(
            f"KB/page, {colour.pages} colour pages with a seal",
            f"{colour.kb_per_page:.0f} colour",
            f"{grey.kb_per_page:.0f} grey",
            f"{colour.kb_per_page / grey.kb_per_page:.2f}",
            "",
            None,
        )
        add("CER, colour pages", _percent(colour.cer), f"{_percent(grey.cer)} grey", "", "", None)
    for name, label in (("clean", "clean"), ("hard", "hard")):
        ours, theirs = runs.get(f"motcua {name}"), runs.get(f"ocrmypdf {name}")
        if ours is None or ours.failed:
            continue
        if theirs is not None and not theirs.failed:
            ratio = ours.kb_per_page / theirs.kb_per_page
            add(
                f"KB/page, {label} pages",
                f"{ours.kb_per_page:.0f}",
                f"{theirs.kb_per_page:.0f} OCRmyPDF (PDF/A)",
                f"{ratio:.2f}",
                "≤ 1.00",
                ratio <= 1.0,
            )
        else:
            add(f"KB/page, {label} pages", f"{ours.kb_per_page:.0f}", "", "", "", None)
    memory = runs.get("motcua memory")
    if memory is not None:
        add(
            f"peak MB, {memory.pages} pages, tree PSS",
            f"{memory.peak_tree_mb or 0:.0f}",
            f"largest process RSS {memory.max_process_mb or 0:.0f}",
            "",
            f"< {TARGET_PEAK_MB:.0f}",
            None if memory.failed else (memory.peak_tree_mb or 0) < TARGET_PEAK_MB,
        )
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    print()
    print(
        f"Tesseract alone: {figures.tesseract_seconds_per_page:.2f} s/page on one thread, "
        f"so the bound is {figures.jobs} × {1 / figures.tesseract_seconds_per_page:.3f} "
        f"= {bound:.3f} pages/s"
    )
    if figures.engine_seconds_per_page:
        print(
            f"motcua's engine (Tesseract in process, same models) alone: "
            f"{figures.engine_seconds_per_page:.2f} s/page on one thread, so its own bound is "
            f"{figures.engine_bound_pages_per_second:.3f} pages/s"
        )
    header = ("", "motcua", "reference", "ratio", "target", "")
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    for name in ("motcua hard", "tesseract hard", "ocrmypdf hard"):
        run = runs.get(name)
        if run is not None and run.page_errors:
            rates = " ".join(_percent(rate([page])) for page in run.page_errors)
            print(f"CER of each hard page, {run.tool}: {rates}")
    failures = [f"{name}: {run.failed}" for name, run in runs.items() if run.failed]
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print("\nOne run on this machine; timings vary with its load (see load average above).")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def versions(args: argparse.Namespace) -> str:
    """The versions of Tesseract, of motcua's engine and (unless skipped) of OCRmyPDF."""
    tesseract = subprocess.run(
        ["tesseract", "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    parts = [tesseract[0] if tesseract else "tesseract ?"]
    engine = subprocess.run(
        [sys.executable, "-c", "import tesserocr; print(tesserocr.tesseract_version())"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    parts.append(f"motcua's engine: tesserocr with {engine[0] if engine else '?'}")
    if not args.skip_ocrmypdf:
        version = subprocess.run(
            ["ocrmypdf", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        parts.append(f"ocrmypdf {version}")
    return ", ".join(parts)
