"""The ``motcua digitize`` command: scans in, one searchable PDF out, no services needed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.arguments import positive_int
from core.errors import exit_code
from digitize.compression import COLOUR_MODES
from digitize.errors import DigitizeError
from digitize.ocr import OcrSettings
from digitize.pipeline import digitize_files
from digitize.quality import QualitySettings

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments: INPUT... -o OUT.pdf [--lang] [--jobs] [--colour-mode]."""
    parser.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help="ảnh quét (JPEG, PNG, TIFF) hoặc PDF chỉ chứa ảnh, theo thứ tự trang",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="OUT.pdf",
        help="tệp PDF/A có thể tìm kiếm sẽ được ghi ra",
    )
    parser.add_argument(
        "--lang", default="vie", help="ngôn ngữ Tesseract, ví dụ vie hoặc vie+eng (mặc định vie)"
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="số trang nhận dạng song song (mặc định: số nhân CPU)",
    )
    parser.add_argument(
        "--colour-mode",
        choices=COLOUR_MODES,
        default=COLOUR_MODES[0],
        help="lưu ảnh màu: auto (chỉ trang có con dấu, chữ ký màu), colour (mọi trang quét màu), "
        "grey (xám hoặc đen trắng); mặc định auto",
    )


def run(args: argparse.Namespace) -> int:
    """Digitize the inputs; 0 on success, else a one-line message on stderr and the exit code
    of the error's disposition (2 bad input, 3 needs a person, 75 try again later)."""
    inputs: list[Path] = list(args.inputs)
    missing = [path for path in inputs if not path.is_file()]
    if missing:
        print(f"lỗi: không tìm thấy tệp '{missing[0]}'", file=sys.stderr)
        return 2
    try:
        result = digitize_files(
            inputs,
            args.output,
            settings=OcrSettings(lang=args.lang),
            jobs=args.jobs,
            quality=QualitySettings(colour_mode=args.colour_mode),
        )
    except DigitizeError as exc:
        print(f"lỗi: {_one_line(exc.message_vi)}", file=sys.stderr)
        return exit_code(exc)
    mean = sum(result.confidences) / len(result.confidences) if result.confidences else 0.0
    print(
        f"{args.output}: {result.pages} trang, {result.seconds:.1f} giây, "
        f"độ tin cậy trung bình {mean:.1f}"
    )
    return 0


def _one_line(message: str) -> str:
    """A message squeezed onto one line."""
    return " ".join(message.split())
