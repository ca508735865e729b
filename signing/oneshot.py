"""The ``motcua sign`` (one or many PDFs, one batch) and ``motcua verify`` one-shot commands."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import getpass
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from core.errors import exit_code
from core.vntime import format_vn_datetime
from signing.engine.jobs import BatchResult, JobOutcome, SignJob
from signing.engine.run import sign_batch
from signing.errors import STOPPED_VI, SigningError
from signing.keys.certificates import signer_identity
from signing.keys.pkcs12 import load_pkcs12_signer, read_passphrase_file
from signing.pades.levels import level_at_least
from signing.pades.options import SignOptions
from signing.stamp.text import StampText

if TYPE_CHECKING:
    from signing.verify.report import SignatureReport, VerifyReport

# The verifier (signing.verify) is imported by ``motcua verify`` and by B-LT signing only:
# ``motcua sign`` at B-B or B-T starts without it.

__all__ = ["run_sign", "run_verify"]

EXIT_OK = 0
EXIT_NOT_OK = 1
EXIT_ERROR = 2


def run_sign(args: argparse.Namespace, *, ask: Callable[[str], str] | None = None) -> int:
    """Sign the PDFs described by ``args`` as one batch; return the process exit code.

    The key's passphrase is read from ``--passphrase-file``, else asked for with
    ``ask(prompt)`` (default: :func:`getpass.getpass`, no echo; the signing agent asks
    its caller's terminal), which
    raises EOFError or KeyboardInterrupt when the person gives up.
    Exit 0 when every document is signed (or was already signed by this key),
    2 with one line per problem on stderr otherwise.
    """
    bar = _ProgressBar(sys.stderr, enabled=False)
    try:
        jobs, single = _sign_jobs(list(args.inputs), args.output)
        options = _sign_options(args)
        if args.passphrase_file is not None:
            passphrase = read_passphrase_file(args.passphrase_file)
        else:
            try:
                passphrase = (ask or getpass.getpass)("Mật khẩu khóa ký: ").encode("utf-8")
            except (EOFError, KeyboardInterrupt):
                print("Lỗi: đã hủy, chưa nhập mật khẩu khóa ký", file=sys.stderr)
                return EXIT_ERROR
        signer = load_pkcs12_signer(args.pkcs12, passphrase or None)
        del passphrase
        if not args.invisible:
            identity = signer_identity(signer)
            stamp = StampText(
                signer_name=args.name or identity.name,
                office_name=args.office or identity.organisation,
            )
            options = dataclasses.replace(options, stamp=stamp)
        # the folder the signed files go into, or the one signed file's folder
        _make_folder(args.output.parent if single else args.output)
        bar = _ProgressBar(sys.stderr, enabled=not single and sys.stderr.isatty())
        result = sign_batch(signer, jobs, options, processes=args.jobs, progress=bar.update)
        bar.close()
    except SigningError as exc:
        print(f"Lỗi: {_one_line(exc.message_vi)}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        bar.close()
        print(STOPPED_VI, file=sys.stderr)
        return EXIT_ERROR
    return _report_batch(jobs, result, single, args.output)


def _usage(message_vi: str) -> SigningError:
    """A command line that cannot be carried out as written: exit 2, as for bad input."""
    return SigningError(message_vi, disposition="quarantine")


def _sign_jobs(inputs: list[Path], output: Path) -> tuple[list[SignJob], bool]:
    """Pair each input with its output; True when the one output is a file, not a folder."""
    if len(inputs) == 1 and output.suffix.lower() == ".pdf" and not output.is_dir():
        return [SignJob(inputs[0], output)], True
    if output.suffix.lower() == ".pdf" and not output.is_dir():
        raise _usage("Có nhiều tài liệu cần ký: -o phải là một thư mục, không phải tệp .pdf")
    if output.exists() and not output.is_dir():
        raise _usage(f"-o phải là một thư mục: {output}")
    return [SignJob(path, output / path.name) for path in inputs], False


def _make_folder(folder: Path) -> None:
    """Create ``folder`` and the folders above it that are missing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise SigningError(f"Không tạo được thư mục ghi tệp đã ký: {folder}") from None


def _sign_options(args: argparse.Namespace) -> SignOptions:
    """Check the level's services before the passphrase is asked, and build the options."""
    level = args.level
    if level_at_least(level, "B-T") and not args.tsa:
        raise _usage(f"Ký mức {level} cần địa chỉ máy chủ cấp dấu thời gian (--tsa URL)")
    if level_at_least(level, "B-LT") and not args.trust:
        raise _usage(f"Ký mức {level} cần chứng thư gốc tin cậy (--trust CERT.pem)")
    context = None
    if level_at_least(level, "B-LT"):
        from signing.pades.evidence import revocation_context
        from signing.verify.check import load_trust_roots

        context = revocation_context(load_trust_roots(list(args.trust)))
    return SignOptions(
        level=level,
        timestamper=args.tsa if level_at_least(level, "B-T") else None,
        validation_context=context,
    )


def _report_batch(jobs: list[SignJob], result: BatchResult, single: bool, output: Path) -> int:
    failed = [(job, o) for job, o in zip(jobs, result.outcomes, strict=True) if not o.ok]
    for job, outcome in failed:
        where = "" if single else f"{job.path.name}: "
        print(f"Lỗi: {where}{_one_line(outcome.message_vi)}", file=sys.stderr)
    if single:
        (outcome,) = result.outcomes
        if outcome.status == "signed":
            print(f"Đã ký: {output} (SHA-256 {outcome.sha256})")
        elif outcome.status == "skipped":
            print(f"Đã ký từ trước, giữ nguyên: {output} (SHA-256 {outcome.sha256})")
        return EXIT_OK if outcome.ok else EXIT_ERROR
    signed, skipped = result.count("signed"), result.count("skipped")
    rate = signed / result.seconds if result.seconds > 0 else 0.0
    print(
        f"Đã ký {signed}/{len(jobs)} tài liệu vào {output} "
        f"({rate:.1f} tài liệu/giây, {result.processes} tiến trình)"
        + (f"; {skipped} tài liệu đã ký từ trước được giữ nguyên" if skipped else "")
        + (f"; {len(failed)} tài liệu lỗi" if failed else "")
    )
    return EXIT_OK if not failed else EXIT_ERROR


class _ProgressBar:
    """A one-line text progress bar redrawn in place on a terminal."""

    def __init__(self, stream: TextIO, *, enabled: bool, width: int = 30) -> None:
        self._stream = stream
        self._enabled = enabled
        self._width = width
        self._drawn = False

    def update(self, done: int, total: int, path: Path, outcome: JobOutcome) -> None:
        """Redraw the bar after document ``done`` of ``total`` (``path``) ended as ``outcome``."""
        if not self._enabled:
            return
        filled = self._width * done // total if total else self._width
        bar = "#" * filled + "-" * (self._width - filled)
        name = path.name if len(path.name) <= 40 else "…" + path.name[-39:]
        mark = {"signed": "đã ký", "skipped": "bỏ qua", "failed": "LỖI"}[outcome.status]
        self._stream.write(f"\r\x1b[2KĐang ký [{bar}] {done}/{total} {mark}: {name}")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run_verify(args: argparse.Namespace) -> int:
    """Verify one PDF; exit 0 when every signature is ok, 1 otherwise, 2 on errors."""
    from signing.verify.check import verify_pdf

    try:
        data = Path(args.file).read_bytes()
    except OSError:
        print(f"Lỗi: không đọc được tệp {args.file}", file=sys.stderr)
        return EXIT_ERROR
    try:
        with _quiet_pyhanko():
            report = verify_pdf(data, list(args.trust))
    except SigningError as exc:
        print(f"Lỗi: {exc.message_vi}", file=sys.stderr)
        return exit_code(exc)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(_format_report(report))
    return EXIT_OK if report.ok else EXIT_NOT_OK


@contextlib.contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """Keep pyHanko's diagnostics (tracebacks of the diff analysis) off the terminal.

    The verdict printed says what they mean. When the application has set up
    logging (the root logger has handlers), its configuration is left alone.
    """
    if logging.getLogger().handlers:
        yield
        return
    pyhanko_logger = logging.getLogger("pyhanko")
    previous = pyhanko_logger.level
    pyhanko_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        pyhanko_logger.setLevel(previous)


def _format_report(report: VerifyReport) -> str:
    lines: list[str] = []
    if report.problem_vi:
        lines.append(report.problem_vi)
    for number, sig in enumerate(report.signatures, start=1):
        lines.extend(_format_signature(number, sig))
    lines.append("Kết quả: HỢP LỆ" if report.ok else "Kết quả: KHÔNG HỢP LỆ")
    return "\n".join(lines)


def _format_signature(number: int, sig: SignatureReport) -> list[str]:
    when = (
        f"{format_vn_datetime(sig.signing_time)} (giờ Việt Nam)" if sig.signing_time else "không rõ"
    )
    return [
        f"Chữ ký {number} (trường {sig.field}):",
        f"  Người ký: {sig.signer or 'không rõ'}",
        f"  Thời gian ký (do người ký khai): {when}",
        f"  Toàn vẹn: {_yes_no(sig.intact and sig.valid)}",
        f"  Tin cậy: {_yes_no(sig.trusted)}",
        f"  Bị sửa sau khi ký: {_yes_no(sig.modified_after)}",
        f"  {sig.summary_vi}",
    ]


def _yes_no(value: bool) -> str:
    return "có" if value else "không"
