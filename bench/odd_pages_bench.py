"""Odd-pages benchmark: each bad or odd scan through ``motcua digitize`` gives PDF/A or a reason."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support lives beside bench/

from pypdf import PdfReader

from core.pdfa.check import check_pdfa
from tests.support.oddpages import ODD_CASES, OddCase, pdf_images, run_digitize_command
from tests.support.text import cer

MAX_CER = 0.03
"""Character error rate a page of text must stay under."""

_SHORT_FILTERS = {"/DCTDecode": "JPEG", "/CCITTFaxDecode": "G4"}


@dataclass(frozen=True)
class Row:
    case: str
    """The odd case, as :data:`tests.support.oddpages.ODD_CASES` names it."""

    outcome: str
    """What a clerk gets: the PDF's figures, or "refused: " and the Vietnamese message."""

    stored: str
    """How the pages were stored in the PDF ("G4", "JPEG", one per page), or "" for none."""

    seconds: float
    """Wall-clock time of the command."""

    ok: bool
    """Whether the case behaved as expected."""

    problem: str = ""
    """What was wrong, when it did not."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run every odd case through the command and print the table; 0 when all behaved."""
    args = _parser().parse_args(argv)
    if shutil.which("pdftotext") is None:
        print("missing: pdftotext (apt-get install poppler-utils)", file=sys.stderr)
        return 2
    scratch = Path(args.workdir or tempfile.mkdtemp(prefix="motcua-odd-pages-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"scratch folder: {scratch}", flush=True)
    try:
        rows = [
            _run_case(case, scratch / f"{index:02d}", args.jobs)
            for index, case in enumerate(ODD_CASES, 1)
        ]
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    _print_table(rows)
    return 0 if all(row.ok for row in rows) else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel pages (2)")
    parser.add_argument("--workdir", type=Path, help="keep everything in this folder")
    parser.add_argument("--keep", action="store_true", help="do not delete the scratch folder")
    return parser


def _run_case(case: OddCase, folder: Path, jobs: int) -> Row:
    """Write the case's scans, digitize them as a clerk would, and judge the outcome."""
    written = case.write(folder / "scans")
    out = folder / "out" / "ho-so.pdf"
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    completed = run_digitize_command(written.inputs, out, jobs=jobs)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        message = completed.stderr.strip().removeprefix("lỗi: ")
        row = Row(case.name, f"refused: {message}", "", seconds, ok=True)
        return _judge_refusal(case, row, completed, out)
    pages = len(PdfReader(out).pages)
    size_kb = out.stat().st_size / 1024 / max(1, pages)
    error: float | None = None
    if written.references:
        error = cer("\n".join(written.references), _pdftotext(out))
    shown = "n/a" if error is None else f"{error:.1%}"
    stored = [_SHORT_FILTERS.get(image.filter, image.filter) for image in pdf_images(out)]
    noun = "page" if pages == 1 else "pages"
    outcome = f"PDF/A, {pages} {noun}, {size_kb:.0f} KB/page, CER {shown}"
    problems = [f"PDF/A: {v}" for v in check_pdfa(out.read_bytes())]
    if case.pages is None:
        problems.append("should have been refused")
    elif pages != case.pages:
        problems.append(f"{pages} pages instead of {case.pages}")
    if error is not None and error >= MAX_CER:
        problems.append(f"CER {error:.1%} not under {MAX_CER:.0%}")
    wanted = [_SHORT_FILTERS.get(f, f) for f in case.filters]
    if wanted and stored != wanted:
        problems.append(f"stored as {'/'.join(stored)} instead of {'/'.join(wanted)}")
    return Row(case.name, outcome, ", ".join(stored), seconds, not problems, "; ".join(problems))


def _judge_refusal(
    case: OddCase, row: Row, completed: subprocess.CompletedProcess[str], out: Path
) -> Row:
    """A refusal behaves when expected, exits 2 with one reason line, and leaves no output."""
    problems = []
    if case.pages is not None:
        problems.append(f"should have given a {case.pages}-page PDF")
    if completed.returncode != 2:
        problems.append(f"exit status {completed.returncode}, not 2")
    lines = completed.stderr.splitlines()
    if len(lines) != 1 or not lines[0].startswith("lỗi: "):
        problems.append(f"{len(lines)} lines on stderr instead of one 'lỗi: ' line")
    elif case.reason not in lines[0]:
        problems.append(f"reason does not say {case.reason!r}")
    if out.exists():
        problems.append("an output file was written")
    return Row(row.case, row.outcome, "", row.seconds, not problems, "; ".join(problems))


def _pdftotext(pdf: Path) -> str:
    """The text of the PDF as a reader sees it (pdftotext)."""
    completed = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    )
    return completed.stdout.decode("utf-8", "replace")


def _print_table(rows: Sequence[Row]) -> None:
    header = ("case", "outcome", "stored", "seconds", "")
    cells = [
        (row.case, row.outcome, row.stored, f"{row.seconds:.1f}", "ok" if row.ok else "MISSED")
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (header, *cells)) for i in range(len(header))]
    print()
    for line in (header, *cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    for row in rows:
        if not row.ok:
            print(f"MISSED {row.case}: {row.problem}", file=sys.stderr)
    total = sum(row.seconds for row in rows)
    behaved = sum(row.ok for row in rows)
    print(f"\n{behaved} of {len(rows)} cases behaved as expected; {total:.0f} s in the command.")


if __name__ == "__main__":
    sys.exit(main())
