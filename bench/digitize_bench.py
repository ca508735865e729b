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
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support lives beside bench/

import img2pdf
from rapidfuzz.distance import Levenshtein

from bench.figures import load_average, verdict
from tests.support.degrade import HARD_SET, add_noise, add_seal, add_signature, write_hard_scan
from tests.support.scans import corpus_paragraphs, render_page
from tests.support.text import normalise

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

_SAMPLE_S = 0.05
"""How often the memory of the process tree is sampled while motcua runs."""


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
    _print_table(figures, args)
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
    print(f"machine: {os.cpu_count()} CPUs, load average {load_average()}; {_versions(args)}")
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
    _progress(runs["motcua clean"], "motcua, clean pages")
    plain = _tesseract(clean, scratch / "tesseract-clean")
    _progress(plain, "plain tesseract, one thread, clean pages")
    figures.tesseract_seconds_per_page = plain.seconds / plain.pages
    figures.tesseract_cpu_per_page = plain.cpu_per_page
    figures.bound_pages_per_second = args.jobs / figures.tesseract_seconds_per_page
    runs["engine vie"] = _engine(clean)
    _progress(runs["engine vie"], "motcua's engine alone (vie), one thread, clean pages")
    figures.engine_seconds_per_page = runs["engine vie"].seconds / len(clean)
    figures.engine_bound_pages_per_second = args.jobs / figures.engine_seconds_per_page
    runs["engine vie+eng"] = _engine(clean, "vie+eng")
    _progress(runs["engine vie+eng"], "motcua's engine alone (vie+eng), one thread, clean pages")
    if not args.skip_ocrmypdf:
        runs["ocrmypdf clean"] = _ocrmypdf(clean, scratch / "ocrmypdf-clean", args.jobs, [])
        _progress(runs["ocrmypdf clean"], "ocrmypdf, clean pages")

    if hard:
        runs["motcua hard"] = _motcua(hard, scratch / "motcua-hard.pdf", args.jobs)
        _progress(runs["motcua hard"], "motcua, hard pages")
        runs["tesseract hard"] = _tesseract(hard, scratch / "tesseract-hard")
        _progress(runs["tesseract hard"], "plain tesseract, hard pages")
        if not args.skip_ocrmypdf:
            extra = ["--rotate-pages", "--deskew"]
            runs["ocrmypdf hard"] = _ocrmypdf(hard, scratch / "ocrmypdf-hard", args.jobs, extra)
            _progress(runs["ocrmypdf hard"], "ocrmypdf --rotate-pages --deskew, hard pages")

    if args.colour_pages > 0:
        colour = _colour_scans(scratch / "colour", args.colour_pages, seed=3000)
        for mode in ("colour", "grey"):
            out = scratch / f"motcua-{mode}.pdf"
            runs[f"motcua {mode}"] = _motcua(colour, out, args.jobs, colour_mode=mode)
            _progress(runs[f"motcua {mode}"], f"motcua --colour-mode {mode}, colour pages")

    if args.memory_pages > 0:
        many = _clean_scans(scratch / "many", args.memory_pages, seed=5000)
        runs["motcua memory"] = _motcua(
            many, scratch / "motcua-many.pdf", args.jobs, watch_memory=True
        )
        _progress(runs["motcua memory"], f"motcua, {len(many)}-page dossier (memory)")
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
    wrapper = [sys.executable, "-c", _RUSAGE_WRAPPER, *command]
    sampler = _TreeSampler() if watch_memory else None
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
    cpu_before = _children_cpu()
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
    run.cpu_seconds = _children_cpu() - cpu_before
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
    cpu_before = _children_cpu()
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, capture_output=True, check=False)
    run = Run("ocrmypdf", len(scans), time.perf_counter() - started)
    run.cpu_seconds = _children_cpu() - cpu_before
    if completed.returncode != 0 or not out.is_file():
        run.failed = completed.stderr.decode("utf-8", "replace").strip()[-300:] or "no output"
        return run
    run.output_bytes = out.stat().st_size
    run.cer, run.page_errors = _cers([s.text for s in scans], _pdf_pages(out))
    return run


_ROOT = Path(__file__).resolve().parents[1]

_RUSAGE_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(f'usage={usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}')\n"
    "sys.exit(code)\n"
)
"""Runs a command, then prints the largest resident size (KB) of any process under it
and their CPU seconds."""


def _children_cpu() -> float:
    """CPU seconds used so far by the finished children of this process (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _motcua_env(out: Path) -> dict[str, str]:
    """Our environment, with the data directory in the scratch folder (never ./var)."""
    return {**os.environ, "MOTCUA_DATA_DIR": str(out.parent / "motcua-data")}


class _TreeSampler:
    """Samples the memory (PSS) of a process and all its descendants from /proc."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pid: int) -> None:
        self._thread = threading.Thread(target=self._run, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak

    def _run(self, root: int) -> None:
        while not self._stop.is_set():
            total = sum(_proportional_kb(pid) for pid in _descendants(root)) * 1024
            self.peak = max(self.peak, total)
            self._stop.wait(_SAMPLE_S)


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it, from the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def _proportional_kb(pid: int) -> int:
    """A process's proportional set size (PSS): its resident memory, pages it shares with
    others counted in part, so that the sum over a forked process tree is real memory."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


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
    return _rate(pages), pages


def _rate(pages: Sequence[tuple[int, int]]) -> float:
    """Summed edit distance over summed reference length."""
    length = sum(size for _, size in pages)
    return sum(distance for distance, _ in pages) / length if length else 0.0


# Report ----------------------------------------------------------------------------------


def _progress(run: Run, label: str) -> None:
    status = f"FAILED: {run.failed}" if run.failed else f"{run.pages_per_second:.3f} pages/s"
    print(
        f"  {label}: {run.pages} pages in {run.seconds:.1f} s "
        f"({run.cpu_per_page:.2f} CPU s/page), {status}",
        flush=True,
    )


def _print_table(figures: Figures, args: argparse.Namespace) -> None:
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
            others = [f"{_percent(_rate(plain.page_errors[group]))} plain tesseract"]
            if hard_ocr is not None and hard_ocr.page_errors:
                others.append(f"{_percent(_rate(hard_ocr.page_errors[group]))} OCRmyPDF")
            label = f"CER, hard pages {group.start + 1}-{group.stop} ({what})"
            add(label, _percent(_rate(hard.page_errors[group])), ", ".join(others), "", "", None)
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
            rates = " ".join(_percent(_rate([page])) for page in run.page_errors)
            print(f"CER of each hard page, {run.tool}: {rates}")
    failures = [f"{name}: {run.failed}" for name, run in runs.items() if run.failed]
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print("\nOne run on this machine; timings vary with its load (see load average above).")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _versions(args: argparse.Namespace) -> str:
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


if __name__ == "__main__":
    sys.exit(main())
