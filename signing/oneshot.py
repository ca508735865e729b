"""The ``motcua sign`` and ``motcua verify`` one-shot commands (argument setup and run)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from signing.errors import SigningError
from signing.keys import load_pkcs12_signer, read_passphrase_file, signer_identity
from signing.pades import SignOptions, sign_file
from signing.stamp import StampText
from signing.verify import SignatureReport, VerifyReport, verify_pdf
from signing.vntime import format_vn_datetime

__all__ = ["add_sign_arguments", "add_verify_arguments", "run_sign", "run_verify"]

EXIT_OK = 0
EXIT_NOT_OK = 1
EXIT_ERROR = 2


def add_sign_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``motcua sign`` to ``parser``."""
    parser.add_argument("input", type=Path, metavar="IN.pdf", help="tài liệu PDF cần ký")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUT.pdf", help="tệp PDF đã ký"
    )
    parser.add_argument(
        "--pkcs12", type=Path, required=True, metavar="FILE", help="tệp khóa ký PKCS#12 (.p12/.pfx)"
    )
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="F",
        help="tệp chứa mật khẩu khóa ký (nếu không có sẽ hỏi, không hiện ký tự)",
    )
    parser.add_argument(
        "--name", help="tên người ký trên chữ ký hiển thị (mặc định: theo chứng thư số)"
    )
    parser.add_argument(
        "--office", help="tên cơ quan trên chữ ký hiển thị (mặc định: theo chứng thư số)"
    )
    parser.add_argument(
        "--invisible", action="store_true", help="ký không hiển thị (không vẽ ô chữ ký)"
    )


def run_sign(args: argparse.Namespace) -> int:
    """Sign one PDF as described by ``args``; return the process exit code."""
    try:
        if args.passphrase_file is not None:
            passphrase = read_passphrase_file(args.passphrase_file)
        else:
            passphrase = getpass.getpass("Mật khẩu khóa ký: ").encode("utf-8")
        signer = load_pkcs12_signer(args.pkcs12, passphrase or None)
        del passphrase
        stamp = None
        if not args.invisible:
            identity = signer_identity(signer)
            stamp = StampText(
                signer_name=args.name or identity.name,
                office_name=args.office or identity.organisation,
            )
        digest = sign_file(args.input, args.output, signer, SignOptions(stamp=stamp))
    except SigningError as exc:
        print(f"Lỗi: {exc.message_vi}", file=sys.stderr)
        return EXIT_ERROR
    except (EOFError, KeyboardInterrupt):
        print("Lỗi: đã hủy, chưa nhập mật khẩu khóa ký", file=sys.stderr)
        return EXIT_ERROR
    print(f"Đã ký: {args.output} (SHA-256 {digest})")
    return EXIT_OK


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``motcua verify`` to ``parser``."""
    parser.add_argument("file", type=Path, metavar="FILE.pdf", help="tài liệu PDF cần kiểm tra")
    parser.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="CERT.pem",
        help="chứng thư gốc được tin cậy (PEM hoặc DER); có thể lặp lại",
    )
    parser.add_argument("--json", action="store_true", help="in kết quả dạng JSON")


def run_verify(args: argparse.Namespace) -> int:
    """Verify one PDF; exit 0 when every signature is ok, 1 otherwise, 2 on errors."""
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
        return EXIT_ERROR
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
