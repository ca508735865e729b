"""The ``motcua`` command line: service roles, one-shot tools and back-office commands."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

#: Back-office commands implemented as Django management commands.
DJANGO_COMMANDS = {
    "import-dossiers": "import_dossiers",
    "batches": "batches",
    "approve": "approve",
    "status": "status",
    "audit": "audit",
    "api-token": "api_token",
}
QUEUES = "default,ocr,assemble,sign,notify"
#: The service roles: they log what they do (INFO); every other command is quiet by default.
SERVICE_ROLES = {"run", "web", "worker", "beat", "watch", "sign-agent"}
#: Libraries whose INFO lines (font subsetting, glyph lists) are noise to any reader.
NOISY_LIBRARIES = ("fontTools", "PIL", "pyhanko.sign.general")
PRIVATE_UMASK = 0o077


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "motcua.settings")
    import django

    django.setup()


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only ``command``'s own options are loaded (fast start-up)."""
    parser = argparse.ArgumentParser(
        prog="motcua",
        description="Số hóa và ký số hồ sơ một cửa / one-stop dossier digitization and signing.",
    )
    parser.add_argument("--data-dir", type=Path, help="thư mục dữ liệu (mặc định ./var)")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="in thêm nhật ký (-vv: chi tiết)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="chạy toàn bộ dịch vụ trên một máy (nhúng Redis, Celery)")
    run.add_argument("--data-dir", type=Path, dest="run_data_dir")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1)

    web = sub.add_parser("web", help="máy chủ web (vai trò riêng)")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--threads", type=int, default=4, help="luồng mỗi tiến trình")
    web.add_argument(
        "--processes", type=int, default=None, help="số tiến trình (mặc định MOTCUA_WEB_PROCESSES)"
    )

    worker = sub.add_parser("worker", help="tiến trình Celery xử lý (vai trò riêng)")
    worker.add_argument("--queues", "-Q", default=QUEUES)
    worker.add_argument("--concurrency", "-c", type=int, default=os.cpu_count() or 1)
    worker.add_argument(
        "--name", "-n", default=None, help="tên nút Celery (mặc định: theo hàng đợi, @máy)"
    )
    sub.add_parser("beat", help="bộ lập lịch (đối soát định kỳ)")
    sub.add_parser("watch", help="theo dõi thư mục tiếp nhận")
    sub.add_parser(
        "sign-agent", help="giữ sẵn bộ ký để motcua sign khởi động ngay (motcua run tự chạy)"
    )
    sub.add_parser("setup", help="tạo thư mục dữ liệu, cập nhật CSDL, dữ liệu mẫu lần đầu")

    digitize = sub.add_parser(
        "digitize", help="OCR ảnh quét thành PDF tìm kiếm được (không cần CSDL)"
    )
    if command == "digitize":
        from digitize import oneshot as digitize_oneshot

        digitize_oneshot.add_arguments(digitize)
    sign = sub.add_parser("sign", help="ký số một hoặc nhiều tệp PDF thành một lô (không cần CSDL)")
    if command == "sign":
        from signing.arguments import add_sign_arguments

        add_sign_arguments(sign)
    verify = sub.add_parser("verify", help="kiểm tra chữ ký số của một tệp PDF")
    if command == "verify":
        from signing.arguments import add_verify_arguments

        add_verify_arguments(verify)

    for name in DJANGO_COMMANDS:
        sub.add_parser(name, help=f"lệnh nghiệp vụ (xem: motcua {name} --help)", add_help=False)
    sub.add_parser(
        "manage", help="lệnh quản trị Django (migrate, createsuperuser, …)", add_help=False
    )
    return parser


@contextlib.contextmanager
def _imported_uncollected() -> Iterator[None]:
    """Hold the garbage collector off while a one-shot command's libraries are imported.

    Importing pyHanko, pypdf, cryptography and the rest makes over a hundred thousand
    objects the collector tracks, none of them garbage; it would walk them again and
    again while they are imported (a tenth of the import time of ``motcua sign``) and
    once more when the process exits (as long again). They are frozen instead: left
    out of every later collection.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _split_global(argv: list[str]) -> tuple[Path | None, int, list[str]]:
    """Take the leading ``--data-dir DIR`` and ``-v``/``--verbose`` off the arguments."""
    data_dir: Path | None = None
    verbose = 0
    while argv:
        if argv[0] == "--data-dir" and len(argv) > 1:
            data_dir, argv = Path(argv[1]), argv[2:]
        elif argv[0].startswith("--data-dir="):
            data_dir, argv = Path(argv[0].split("=", 1)[1]), argv[1:]
        elif argv[0] in ("-v", "-vv", "--verbose"):
            verbose += 2 if argv[0] == "-vv" else 1
            argv = argv[1:]
        else:
            break
    return data_dir, verbose, argv


def _log_level(command: str | None, verbose: int) -> str:
    """WARNING for a person's command (INFO with -v, DEBUG with -vv); INFO for the roles."""
    if verbose >= 2:
        return "DEBUG"
    if verbose == 1 or command in SERVICE_ROLES:
        return "INFO"
    return "WARNING"


def _quiet_logging(level: str) -> None:
    """Log to stderr at ``level``, with third-party chatter below WARNING kept out."""
    import logging

    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _sign(args: argparse.Namespace, argv: list[str]) -> int:
    """``motcua sign``: by the data directory's signing agent when one runs, else here."""
    from core.datadir import data_dir
    from signing.agent.client import sign_through_agent, socket_path

    agent = socket_path(data_dir(os.environ.get("MOTCUA_DATA_DIR")))
    served = sign_through_agent(agent, argv, os.environ["MOTCUA_LOG_LEVEL"])
    if served is not None:
        return served
    with _imported_uncollected():
        from signing import oneshot as signing_oneshot
    return signing_oneshot.run_sign(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``motcua`` command."""
    # Everything motcua writes (database, store, logs, keys) is for the service's user
    # alone: folders 0700, files 0600, in this process and every child it starts.
    os.umask(PRIVATE_UMASK)
    raw = list(sys.argv[1:] if argv is None else argv)
    global_dir, verbose, rest = _split_global(raw)
    command_word = next((word for word in rest if not word.startswith("-")), None)
    # Settings read it (the one place that reads the environment); the user's own wins.
    os.environ.setdefault("MOTCUA_LOG_LEVEL", _log_level(command_word, verbose))
    if rest and (rest[0] in DJANGO_COMMANDS or rest[0] == "manage"):
        # Back-office commands parse their own options (Django's argparse).
        if global_dir is not None:
            os.environ["MOTCUA_DATA_DIR"] = str(global_dir.resolve())
        _django()
        from django.core.management import execute_from_command_line

        name = DJANGO_COMMANDS.get(rest[0])
        if name is None:
            execute_from_command_line(["motcua manage", *(rest[1:] or ["help"])])
        else:
            execute_from_command_line([f"motcua {rest[0]}", name, *rest[1:]])
        return 0

    args = _parser(command_word).parse_args(rest)
    data_dir = getattr(args, "run_data_dir", None) or args.data_dir or global_dir
    if data_dir is not None:
        os.environ["MOTCUA_DATA_DIR"] = str(Path(data_dir).resolve())
    command: str = args.command

    if command in ("digitize", "sign", "verify"):  # no Django: set up logging here
        _quiet_logging(os.environ["MOTCUA_LOG_LEVEL"])
    if command == "digitize":
        from digitize import oneshot as digitize_oneshot

        return digitize_oneshot.run(args)
    if command == "sign":
        return _sign(args, rest[rest.index("sign") + 1 :])
    if command == "verify":
        from signing import oneshot as signing_oneshot

        return signing_oneshot.run_verify(args)

    if command in SERVICE_ROLES or command == "setup":
        _django()
        from motcua.checks import refuse_placeholders

        refused = refuse_placeholders()
        if refused:
            return refused
    if command == "setup":
        from motcua.firstrun import prepare

        prepare(announce=True)
        return 0
    if command == "run":
        _django()
        from motcua.supervisor import run_embedded

        return run_embedded(port=args.port, host=args.host, workers=args.workers)
    if command == "web":
        _django()
        from motcua.roles import serve_web

        serve_web(host=args.host, port=args.port, threads=args.threads, processes=args.processes)
        return 0
    if command == "worker":
        from motcua.roles import exec_celery

        # Two worker roles on one host need their own node names (RabbitMQ refuses a second
        # consumer of the same node's control queue): by default named after their queues.
        name = args.name or f"{args.queues.replace(',', '-')}@%h"
        exec_celery(["worker", "-Q", args.queues, "-c", str(args.concurrency), "-n", name])
    if command == "beat":
        from motcua.roles import exec_celery

        exec_celery(["beat"])
    if command == "sign-agent":
        _django()
        from motcua.roles import sign_agent

        return sign_agent(_quiet_logging)
    if command == "watch":
        _django()
        from motcua.roles import watch

        watch()
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
