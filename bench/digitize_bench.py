"""Digitize benchmark: motcua against Tesseract's own speed limit and OCRmyPDF, on rendered scans.

Run ``.venv/bin/python bench/digitize_bench.py`` for the full run (16 clean pages,
the 12 hard pages, 4 colour pages with seals, a 50-page dossier for memory; about a
quarter of an hour on two cores), or ``--pages 4 --hard-pages 4 --colour-pages 0
--memory-pages 0 --skip-ocrmypdf`` for a quick look. Everything is generated in a
scratch folder: Vietnamese A4 pages rendered from the corpus (tests/support/scans.py)
at 300 dpi as lossless PNG; the team's own hard set (tests/support/degrade.py,
``HARD_SET``: 200 dpi, skew up to 2.5°, heavy sensor noise, red seals and blue
signatures, pages turned 90°, 180° and 270°, saved as JPEG the way office scanners
do; its last four pages scanned grey or bilevel, so the seal and the signature are
no longer coloured); and colour 200 dpi copies with a red seal, stored once in
colour and once grey. motcua runs as its command line
(``python -m motcua digitize … --jobs N``), OCRmyPDF (Debian package ``ocrmypdf``)
on an image PDF of the same pages, and the bound is N × the pages per second of
plain single-threaded ``tesseract IMG OUT -l vie`` on the same pages, measured
in the same run. Text is compared with ``pdftotext`` output, as a reader would
see it. One run, one machine: on a shared machine the timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support lives beside bench/

import img2pdf
from rapidfuzz.distance import Levenshtein

from bench.digitize_figures import Figures, Run, Scan, print_table, progress, rate, versions
from bench.figures import load_average, machine_speed
from bench.processes import RUSAGE_WRAPPER, TreeSampler, children_cpu
from tests.support.degrade import HARD_SET, add_noise, add_seal, add_signature, write_hard_scan
from tests.support.scans import corpus_paragraphs, render_page
from tests.support.text import normalise


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the pages, run every measurement, print the table; 0 unless a tool is missing."""
    args = _parser().parse_args(argv)
    missing = [tool for tool in ("tesseract", "pdftotext") if shutil.which(tool) is None]
    if not args.skip_ocrmypdf and shutil.which("ocrmypdf") is None:
        missing.append("ocrmypdf (apt-get install ocrmypdf, or --skip-ocrmypdf)")
    if missing:
        print(f"missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    scratch = Path(args.workdir or tempfile.mkdtemp(prefix="motcua-digitize-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        figures = _bench(args, scratch)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    print_table(figures, args)
    if args.json:
        runs = {name: asdict(run) for name, run in figures.runs.items()}
        args.json.write_text(json.dumps({**asdict(figures), "runs": runs}, indent=2) + "\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pages", type=int, default=16, help="clean pages (16)")
    parser.add_argument(
        "--hard-pages", type=int, default=len(HARD_SET), help="hard pages (12; 0 skips)"
    )
    parser.add_argument(
        "--colour-pages", type=int, default=4, help="colour pages with a seal (4; 0 skips)"
    )
    parser.add_argument(
        "--memory-pages", type=int, default=50, help="pages of the memory run (50; 0 skips)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="parallel pages (2)")
    parser.add_argument("--skip-ocrmypdf", action="store_true", help="do not run OCRmyPDF")
    parser.add_argument("--workdir", type=Path, help="keep everything in this folder")
    parser.add_argument("--keep", action="store_true", help="do not delete the scratch folder")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser


def _bench(args: argparse.Namespace, scratch: Path) -> Figures:
    print(f"scratch folder: {scratch}")
    print(f"machine: {os.cpu_count()} CPUs, load average {load_average()}; {versions(args)}")
    print(f"machine speed: {machine_speed()}")
    figures = Figures(jobs=args.jobs)
    started = time.perf_counter()
    clean = _clean_scans(scratch / "clean", args.pages, seed=0)
    hard = _hard_scans(scratch / "hard", args.hard_pages, seed=1000)
    print(
        f"generated {len(clean)} clean and {len(hard)} hard pages "
        f"in {time.perf_counter() - started:.0f} s\n"
    )
    runs = figures.runs

    runs["motcua clean"] = _motcua(clean, scratch / "motcua-clean.pdf", args.jobs)
    progress(runs["motcua clean"], "motcua, clean pages")
    plain = _tesseract(clean, scratch / "tesseract-clean")
    progress(plain, "plain tesseract, one thread, clean pages")
    figures.tesseract_seconds_per_page = plain.seconds / plain.pages
    figures.tesseract_cpu_per_page = plain.cpu_per_page
    figures.bound_pages_per_second = args.jobs / figures.tesseract_seconds_per_page
    runs["engine vie"] = _engine(clean)
    progress(runs["engine vie"], "motcua's engine alone (vie), one thread, clean pages")
    figures.engine_seconds_per_page = runs["engine vie"].seconds / len(clean)
    figures.engine_bound_pages_per_second = args.jobs / figures.engine_seconds_per_page
    runs["engine vie+eng"] = _engine(clean, "vie+eng")
    progress(runs["engine vie+eng"], "motcua's engine alone (vie+eng), one thread, clean pages")
    if not args.skip_ocrmypdf:
        runs["ocrmypdf clean"] = _ocrmypdf(clean, scratch / "ocrmypdf-clean", args.jobs, [])
        progress(runs["ocrmypdf clean"], "ocrmypdf, clean pages")

    if hard:
        runs["motcua hard"] = _motcua(hard, scratch / "motcua-hard.pdf", args.jobs)
        progress(runs["motcua hard"], "motcua, hard pages")
        runs["tesseract hard"] = _tesseract(hard, scratch / "tesseract-hard")
        progress(runs["tesseract hard"], "plain tesseract, hard pages")
        if not args.skip_ocrmypdf:
            extra = ["--rotate-pages", "--deskew"]
            runs["ocrmypdf hard"] = _ocrmypdf(hard, scratch / "ocrmypdf-hard", args.jobs, extra)
            progress(runs["ocrmypdf hard"], "ocrmypdf --rotate-pages --deskew, hard pages")

    if args.colour_pages > 0:
        colour = _colour_scans(scratch / "colour", args.colour_pages, seed=3000)
        for mode in ("colour", "grey"):
            out = scratch / f"motcua-{mode}.pdf"
            runs[f"motcua {mode}"] = _motcua(colour, out, args.jobs, colour_mode=mode)
            progress(runs[f"motcua {mode}"], f"motcua --colour-mode {mode}, colour pages")

    if args.memory_pages > 0:
        many = _clean_scans(scratch / "many", args.memory_pages, seed=5000)
        runs["motcua memory"] = _motcua(
            many, scratch / "motcua-many.pdf", args.jobs, watch_memory=True
        )
        progress(runs["motcua memory"], f"motcua, {len(many)}-page dossier (memory)")
    return figures


# Inputs ----------------------------------------------------------------------------------


def _clean_scans(folder: Path, count: int, *, seed: int) -> list[Scan]:
    """Full A4 pages of corpus text, grey, 300 dpi, saved as PNG (lossless, like a TIFF scan)."""
    folder.mkdir(parents=True, exist_ok=True)
    scans = []
    for index in range(count):
        image, text = render_page(
            "\n".join(corpus_paragraphs(8, seed=seed + index)), dpi=300, mode="L"
        )
        path = folder / f"{index + 1:03d}.png"
        image.save(path, format="PNG", dpi=(300, 300))
        scans.append(Scan(path, text))
    return scans


def _hard_scans(folder: Path, count: int, *, seed: int) -> list[Scan]:
    """The team's own hard set (``HARD_SET``, cycled): 200 dpi, skewed, noisy, sealed,
    signed, turned; grey and colour pages saved as JPEG, bilevel ones as PNG."""
    return [Scan(*write_hard_scan(folder, index, seed=seed)) for index in range(count)]


def _colour_scans(folder: Path, count: int, *, seed: int) -> list[Scan]:
    """Certified copies scanned in colour: 200 dpi, a red seal and a blue signature over
    the text, light noise, saved as JPEG quality 85."""
    folder.mkdir(parents=True, exist_ok=True)
    scans = []
    for index in range(count):
        image, text = render_page(
            "\n".join(corpus_paragraphs(8, seed=seed + index)), dpi=200, mode="RGB"
        )
        page = add_noise(add_signature(add_seal(image, seed=index), seed=index), 4, seed=index)
        path = folder / f"{index + 1:03d}.jpg"
        page.save(path, format="JPEG", quality=85, dpi=(200, 200))
        scans.append(Scan(path, text))
    return scans


# Runs ------------------------------------------------------------------------------------


def _motcua(
    scans: list[Scan],
    out: Path,
    jobs: int,
    *,
    watch_memory: bool = False,
    colour_mode: str = "auto",
) -> Run:
    """Run ``motcua digitize`` as a subprocess (through a wrapper that reports its max RSS)."""
    command = [
        sys.executable,
        "-m",
        "motcua",
        "digitize",
        *(str(s.path) for s in scans),
        "-o",
        str(out),
        "--jobs",
        str(jobs),
        *(["--colour-mode", colour_mode] if colour_mode != "auto" else []),
    ]
    wrapper = [sys.executable, "-c", RUSAGE_WRAPPER, *command]
    sampler = TreeSampler() if watch_memory else None
    started = time.perf_counter()
    process = subprocess.Popen(
        wrapper, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=_ROOT, env=_motcua_env(out)
    )
    if sampler is not None:
        sampler.start(process.pid)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    run = Run("motcua", len(scans), seconds)
    if sampler is not None:
        run.peak_tree_mb = sampler.stop() / 2**20
    lines = stdout.decode("utf-8", "replace").strip().splitlines()
    if lines and lines[-1].startswith("usage="):
        maxrss_kb, cpu = lines[-1].split("=", 1)[1].split()
        run.max_process_mb, run.cpu_seconds = int(maxrss_kb) / 1024, float(cpu)
    if process.returncode != 0 or not out.is_file():
        run.failed = stderr.decode("utf-8", "replace").strip()[-300:] or "no output"
        return run
    run.output_bytes = out.stat().st_size
    run.cer, run.page_errors = _cers([s.text for s in scans], _pdf_pages(out))
    return run


def _tesseract(scans: list[Scan], folder: Path) -> Run:
    """Plain ``tesseract IMG OUT -l vie`` on each page in turn, one thread (the bound's basis)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    texts = []
    cpu_before = children_cpu()
    started = time.perf_counter()
    for scan in scans:
        base = folder / scan.path.stem
        subprocess.run(
            ["tesseract", str(scan.path), str(base), "-l", "vie"],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
        )
        texts.append(base.with_suffix(".txt").read_text(encoding="utf-8", errors="replace"))
    run = Run("tesseract", len(scans), time.perf_counter() - started)
    run.cpu_seconds = children_cpu() - cpu_before
    run.cer, run.page_errors = _cers([s.text for s in scans], texts)
    return run


_ENGINE_LOOP = (
    "import json, sys, time\n"
    "from PIL import Image\n"
    "from digitize.ocr import OcrSettings, layout_text, recognise\n"
    "settings = OcrSettings(lang=sys.argv[1])\n"
    "recognise(Image.new('L', (64, 64), 255), 300, settings)  # load the models\n"
    "texts = []\n"
    "started, cpu = time.perf_counter(), time.process_time()\n"
    "for path in sys.argv[2:]:\n"
    "    with Image.open(path) as image:\n"
    "        image.load()\n"
    "        dpi = round(image.info.get('dpi', (300, 300))[0])\n"
    "        texts.append(layout_text(recognise(image, dpi, settings)))\n"
    "seconds, cpu = time.perf_counter() - started, time.process_time() - cpu\n"
    "print(json.dumps({'seconds': seconds, 'cpu': cpu, 'texts': texts}))\n"
)
"""Decodes and recognises each page in turn with motcua's in-process engine, one thread,
and prints the seconds the loop took (the models loaded beforehand) and the texts."""


def _engine(scans: list[Scan], lang: str = "vie") -> Run:
    """motcua's own engine alone on the pages, one thread (see :data:`_ENGINE_LOOP`)."""
    completed = subprocess.run(
        [sys.executable, "-c", _ENGINE_LOOP, lang, *(str(s.path) for s in scans)],
        cwd=_ROOT,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    run = Run(f"engine {lang}", len(scans), float(result["seconds"]))
    run.cpu_seconds = float(result["cpu"])
    run.cer = _cer([s.text for s in scans], list(result["texts"]))
    return run


def _ocrmypdf(scans: list[Scan], folder: Path, jobs: int, extra: list[str]) -> Run:
    """OCRmyPDF (default PDF/A output) on an image PDF of the same scan files (img2pdf)."""
    folder.mkdir(parents=True, exist_ok=True)
    source, out = folder / "in.pdf", folder / "out.pdf"
    source.write_bytes(img2pdf.convert([str(s.path) for s in scans]))
    # OCRmyPDF is the Debian package, on the system Python: keep our venv out of its way.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    command = ["ocrmypdf", "-l", "vie", "--jobs", str(jobs), *extra, str(source), str(out)]
    cpu_before = children_cpu()
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, capture_output=True, check=False)
    run = Run("ocrmypdf", len(scans), time.perf_counter() - started)
    run.cpu_seconds = children_cpu() - cpu_before
    if completed.returncode != 0 or not out.is_file():
        run.failed = completed.stderr.decode("utf-8", "replace").strip()[-300:] or "no output"
        return run
    run.output_bytes = out.stat().st_size
    run.cer, run.page_errors = _cers([s.text for s in scans], _pdf_pages(out))
    return run


_ROOT = Path(__file__).resolve().parents[1]


def _motcua_env(out: Path) -> dict[str, str]:
    """Our environment, with the data directory in the scratch folder (never ./var)."""
    return {**os.environ, "MOTCUA_DATA_DIR": str(out.parent / "motcua-data")}


# Text ------------------------------------------------------------------------------------


def _pdf_pages(pdf: Path) -> list[str]:
    """The text of each page as pdftotext extracts it."""
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8", "replace")
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def _cer(references: list[str], hypotheses: list[str]) -> float:
    """Character error rate over all pages: edit distance over reference length, summed."""
    return _cers(references, hypotheses)[0]


def _cers(references: list[str], hypotheses: list[str]) -> tuple[float, list[tuple[int, int]]]:
    """The character error rate over all pages (:func:`_cer`), and each page's edit
    distance and reference length."""
    hypotheses = hypotheses + [""] * (len(references) - len(hypotheses))
    pages = []
    for reference, hypothesis in zip(references, hypotheses, strict=False):
        ref, hyp = normalise(reference), normalise(hypothesis)
        pages.append((Levenshtein.distance(ref, hyp), len(ref)))
    return rate(pages), pages


if __name__ == "__main__":
    sys.exit(main())
