"""The arguments of ``motcua sign`` and ``motcua verify``, parsed before anything heavy loads.

No library beyond Python's own: the command line parses them, and may hand a signature to the
signing agent (:mod:`signing.agent`), without importing pyHanko.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.arguments import positive_int
from signing.pades.levels import LEVELS

__all__ = ["add_sign_arguments", "add_verify_arguments", "sign_parser"]


def sign_parser() -> argparse.ArgumentParser:
    """A parser of ``motcua sign``'s own arguments (those after the word ``sign``)."""
    parser = argparse.ArgumentParser(prog="motcua sign")
    add_sign_arguments(parser)
    return parser


def add_sign_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``motcua sign`` to ``parser``."""
    parser.add_argument(
        "inputs", nargs="+", type=Path, metavar="IN.pdf", help="tài liệu PDF cần ký (một hay nhiều)"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT",
        help="thư mục ghi các tệp đã ký (cùng tên tệp gốc); "
        "với một tài liệu, tên tệp .pdf là chính tệp đã ký",
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
    parser.add_argument(
        "--level",
        choices=LEVELS,
        default="B-B",
        help="mức chữ ký PAdES (mặc định B-B; B-T trở lên cần --tsa, B-LT trở lên cần --trust)",
    )
    parser.add_argument(
        "--tsa", metavar="URL", help="máy chủ cấp dấu thời gian RFC 3161 (mức B-T trở lên)"
    )
    parser.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="CERT.pem",
        help="chứng thư gốc để kiểm tra thu hồi khi ký mức B-LT, B-LTA; có thể lặp lại",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="số tiến trình ký song song (mặc định: số nhân CPU)",
    )


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
