"""Signing benchmark: a plain pyHanko loop against the batch engine, on generated 1 MB PDFs.

Run ``.venv/bin/python bench/sign_bench.py [--count 200]``. Everything is generated
in a scratch folder: the PDFs (each page an incompressible image, so the file really
is about a megabyte) and a development PKI with an RSA-2048 signer key. Every output
is validated against the development CA afterwards; that time is reported apart.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime as dt
import io
import multiprocessing
import random
import resource
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: bench.*

from PIL import Image
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

from bench.figures import load_average, machine_speed, verdict
from core.pdfa.check import check_pdfa
from digitize.assemble import assemble_pdf
from digitize.compression import encode_image, write_encoded
from digitize.ocr import PageOcr
from digitize.pages import PageImage
from digitize.textlayer import PageLayout, write_layout
from signing.devpki import IssuedKey, make_dev_pki
from signing.engine.jobs import SignJob
from signing.engine.run import default_jobs, sign_batch
from signing.keys.certificates import signer_identity
from signing.keys.pkcs12 import load_pkcs12_signer
from signing.pades.options import SignOptions
from signing.stamp.text import StampText
from signing.verify.check import verify_pdf

TARGET_RATE = 80.0
"""Documents per second the engine must reach at B-B on the 2-core reference machine."""

TARGET_RATIO = 6.0
"""How many times faster than the plain loop the engine must be."""


@dataclass(frozen=True)
class Run:
    label: str
    """What was measured, as printed."""

    seconds: float
    """Wall time of the signing (key loading included, validation excluded)."""

    cpu_seconds: float
    """CPU time of this process and its workers during the signing."""

    outputs: list[Path]
    """The signed files, all validated afterwards."""

    failed: int = 0
    """Documents the run reported as not signed."""


def main(argv: list[str] | None = None) -> int:
    """Generate the inputs, run the three measurements, validate, print; 0 when all valid."""
    args = _parser().parse_args(argv)
    scratch = Path(args.workdir or tempfile.mkdtemp(prefix="motcua-sign-bench-"))
    try:
        return _bench(args, scratch)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="documents to sign (200)")
    parser.add_argument("--size-mb", type=float, default=1.0, help="size of each PDF in MB (1)")
    parser.add_argument("--jobs", type=int, default=2, help="engine processes (2)")
    parser.add_argument("--workdir", type=Path, help="keep everything in this folder")
    parser.add_argument("--keep", action="store_true", help="do not delete the scratch folder")
    return parser


def _bench(args: argparse.Namespace, scratch: Path) -> int:
    passphrase = secrets.token_urlsafe(24).encode()
    print(f"scratch folder: {scratch}")
    print(f"machine: {default_jobs()} usable CPUs, load average {load_average()}")
    print(f"machine speed: {machine_speed()}")
    pki = make_dev_pki(
        scratch / "pki",
        signer_name="Nguyễn Văn Thử",
        organisation="UBND xã Thử Nghiệm",
        passphrase=passphrase,
    )
    started = time.perf_counter()
    sources = make_inputs(scratch / "in", args.count, int(args.size_mb * 1_000_000))
    mean_size = sum(p.stat().st_size for p in sources) / len(sources) / 1e6
    print(
        f"generated {len(sources)} PDFs of {mean_size:.2f} MB in "
        f"{time.perf_counter() - started:.1f} s; RSA-2048 key, PAdES B-B\n"
    )

    plain = _plain_loop(sources, scratch / "out-plain", pki, passphrase)
    invisible = _engine(sources, scratch / "out-invisible", pki, passphrase, args.jobs, False)
    visible = _engine(sources, scratch / "out-visible", pki, passphrase, args.jobs, True)
    digitized = _make_pdfa_inputs(scratch / "in-pdfa", args.count, int(args.size_mb * 1_000_000))
    approved = _engine(
        digitized, scratch / "out-approved", pki, passphrase, args.jobs, True, pdfa_check=True
    )
    rerun_start = time.perf_counter()
    signer = load_pkcs12_signer(pki.pkcs12, passphrase)
    rerun = sign_batch(
        signer,
        [SignJob(p, scratch / "out-invisible" / p.name) for p in sources],
        processes=args.jobs,
    )
    rerun_seconds = time.perf_counter() - rerun_start

    runs = [plain, invisible, visible, approved]
    valid, bad, validation_seconds = _validate_all(runs, pki, args.jobs)

    base = len(sources) / plain.seconds
    print(f"{'':48}{'seconds':>9}{'docs/s':>9}{'× plain':>9}{'CPU ms/doc':>12}")
    for run in runs:
        rate = len(sources) / run.seconds
        cpu_ms = run.cpu_seconds / len(sources) * 1000
        print(f"{run.label:48}{run.seconds:9.2f}{rate:9.1f}{rate / base:9.1f}{cpu_ms:12.1f}")
    print(
        f"{'engine re-run, all outputs already signed':48}{rerun_seconds:9.2f}"
        f"{len(sources) / rerun_seconds:9.1f}{'':>9}  ({rerun.count('skipped')} skipped)"
    )
    total = sum(len(run.outputs) for run in runs)
    print(
        f"\nvalidation (not in the figures above): {valid}/{total} outputs intact, valid and "
        f"trusted by the test CA, in {validation_seconds:.1f} s with {args.jobs} processes"
    )
    for run in (invisible, visible, approved):
        ceiling = args.jobs * len(sources) / run.cpu_seconds
        print(
            f"CPU-bound ceiling of {run.label} with {args.jobs} idle cores: "
            f"{ceiling:.0f} docs/s (an estimate from its CPU time, not a measurement)"
        )
    for run in (invisible, visible, approved):
        rate = len(sources) / run.seconds
        print(
            f"targets, {run.label.strip()}: ≥{TARGET_RATE:.0f} docs/s "
            f"{verdict(rate >= TARGET_RATE)}, ≥{TARGET_RATIO:.0f}× plain "
            f"{verdict(rate / base >= TARGET_RATIO)}"
        )
    approval_rate = len(sources) / approved.seconds
    print(
        f"\napproval path (PDF/A in, visible stamp, PDF/A check of the signature's revision): "
        f"{approval_rate:.1f} docs/s beside plain pyHanko's {base:.1f} docs/s in this run "
        f"({approval_rate / base:.1f}×); load average at the end {load_average()}"
    )
    for line in bad[:10]:
        print(f"INVALID: {line}", file=sys.stderr)
    failed = sum(run.failed for run in runs)
    return 0 if not bad and not failed and valid == total else 1


def make_inputs(folder: Path, count: int, size: int) -> list[Path]:
    """Write ``count`` distinct one-page PDFs of about ``size`` bytes each."""
    folder.mkdir(parents=True, exist_ok=True)
    width = 600
    height = max(1, size // (width * 3))
    paths = []
    for number in range(count):
        pixels = random.Random(number).randbytes(width * height * 3)  # noqa: S311 - test data
        writer = PdfWriter()
        page = writer.add_blank_page(595, 842)
        image = DecodedStreamObject()
        image.set_data(pixels)
        image.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Image"),
                NameObject("/Width"): NumberObject(width),
                NameObject("/Height"): NumberObject(height),
                NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
                NameObject("/BitsPerComponent"): NumberObject(8),
            }
        )
        content = DecodedStreamObject()
        content.set_data(b"q 523 0 0 770 36 36 cm /Im0 Do Q")
        page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/XObject"): DictionaryObject(
                    {NameObject("/Im0"): writer._add_object(image)}
                )
            }
        )
        page[NameObject("/Contents")] = writer._add_object(content)
        path = folder / f"ho-so-{number:04d}.pdf"
        buffer = io.BytesIO()
        writer.write(buffer)
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


def _plain_loop(sources: list[Path], out: Path, pki: IssuedKey, passphrase: bytes) -> Run:
    """Sign as pyHanko's documentation shows, loading the PKCS#12 file for each document."""
    out.mkdir(parents=True, exist_ok=True)
    outputs = []
    started, cpu = time.perf_counter(), _cpu()
    for source in sources:
        signer = signers.SimpleSigner.load_pkcs12(  # type: ignore[no-untyped-call]
            pfx_file=str(pki.pkcs12), passphrase=passphrase
        )
        with source.open("rb") as doc:
            writer = IncrementalPdfFileWriter(doc)
            meta = signers.PdfSignatureMetadata(
                field_name="Signature1", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
            )
            target = out / source.name
            with target.open("wb") as handle:
                signers.sign_pdf(writer, meta, signer=signer, output=handle)
        outputs.append(target)
    return Run(
        "plain pyHanko loop (1 process)", time.perf_counter() - started, _cpu() - cpu, outputs
    )


def _make_pdfa_inputs(folder: Path, count: int, size: int) -> list[Path]:
    """Write ``count`` distinct one-page PDF/A documents of about ``size`` bytes each, as
    the digitize stage assembles them (a grey noise page stored as JPEG, no text)."""
    folder.mkdir(parents=True, exist_ok=True)
    side = max(64, int((size * 1.6) ** 0.5))  # noise at JPEG quality 65: about 0.4 byte/pixel
    pixels = random.Random(0).randbytes(side * side)  # noqa: S311 - test data
    scan = folder / "trang.png"
    Image.frombytes("L", (side, side), pixels).save(scan, dpi=(300, 300))
    page = PageImage(scan, 300, side, side, "L")
    layout = folder / "trang.json"
    write_layout(PageLayout(width=side, height=side, dpi=300, lines=()), layout)
    encoded = write_encoded(encode_image(Image.open(scan)), folder / "trang.img")
    page = dataclasses.replace(page, encoded=encoded)
    paths = []
    for number in range(count):
        path = folder / f"ho-so-{number:04d}.pdf"
        received = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
        assemble_pdf(
            [(page, PageOcr("", 0.0, layout))],
            path,
            identity=(f"bench-{number}", received + dt.timedelta(seconds=number)),
        )
        paths.append(path)
    return paths


def _engine(
    sources: list[Path],
    out: Path,
    pki: IssuedKey,
    passphrase: bytes,
    jobs: int,
    visible: bool,
    *,
    pdfa_check: bool = False,
) -> Run:
    """Load the key once and sign every document as one batch with the engine.

    With ``pdfa_check`` every signed result is also checked against the PDF/A clauses
    of the digitize stage, as approvals and automatic signatures do."""
    out.mkdir(parents=True, exist_ok=True)
    started, cpu = time.perf_counter(), _cpu()
    signer = load_pkcs12_signer(pki.pkcs12, passphrase)
    options = SignOptions()
    if visible:
        identity = signer_identity(signer)
        options = SignOptions(
            stamp=StampText(signer_name=identity.name, office_name=identity.organisation),
            output_check=check_pdfa if pdfa_check else None,
        )
    result = sign_batch(
        signer, [SignJob(p, out / p.name) for p in sources], options, processes=jobs
    )
    seconds, cpu_seconds = time.perf_counter() - started, _cpu() - cpu
    label = f"engine, {'visible stamp' if visible else 'invisible'}, jobs={jobs}"
    if pdfa_check:
        label = f"engine, PDF/A in, stamp + PDF/A check, jobs={jobs}"
    outputs = [out / p.name for p in sources]
    return Run(label, seconds, cpu_seconds, outputs, failed=result.count("failed"))


def _validate_all(runs: list[Run], pki: IssuedKey, jobs: int) -> tuple[int, list[str], float]:
    """Validate every output in ``jobs`` processes; return (valid count, problems, seconds)."""
    started = time.perf_counter()
    paths = [str(path) for run in runs for path in run.outputs]
    check: Callable[[str], str] = _Checker(str(pki.ca_cert))
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        problems = [p for p in pool.map(check, paths, chunksize=8) if p]
    return len(paths) - len(problems), problems, time.perf_counter() - started


class _Checker:
    """Validates one output (picklable, for the process pool); returns a problem or ''."""

    def __init__(self, ca_cert: str) -> None:
        self.ca_cert = ca_cert

    def __call__(self, path: str) -> str:
        try:
            report = verify_pdf(Path(path).read_bytes(), [Path(self.ca_cert)])
        except OSError as exc:
            return f"{path}: {exc}"
        if report.ok and len(report.signatures) == 1:
            return ""
        return f"{path}: {report.problem_vi or [s.summary_vi for s in report.signatures]}"


def _cpu() -> float:
    """CPU seconds used so far by this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    raise SystemExit(main())
