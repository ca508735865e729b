"""One verification in a forked child: header, confinement, then the document, checked and answered.

The child (:func:`serve`) talks with the web process on one Unix socket alone. It reads
a header line (its limits and trust roots), arms a wall-clock alarm, caps its CPU time,
address space, open files and file writes before it reads a byte of the document, then
screens the document against the caps (:mod:`signing.verify.caps`), verifies it and
writes one line of JSON back. Nothing but that line leaves the child: its logging is
off and its standard streams go nowhere.
"""

from __future__ import annotations

import json
import logging
import resource
import signal
import socket
from pathlib import Path
from typing import Any

from signing.errors import TrustStoreError
from signing.verify.caps import screen_pdf
from signing.verify.check import verify_pdf
from signing.verify.report import VerifyReport

__all__ = ["HEADER_BYTES", "serve"]

HEADER_BYTES = 64 * 1024
"""The longest header line a child reads."""

_ALARM_GRACE_S = 1.0
"""The child ends itself this long after its wall-clock limit, should nobody end it."""


def serve(conn: socket.socket) -> int:
    """Check the document the web process sends on ``conn`` and answer; the exit status.

    A spare whose socket closes before a header (the web process stopped) ends at once.
    """
    reader = conn.makefile("rb")
    line = reader.readline(HEADER_BYTES)
    if not line.endswith(b"\n"):
        return 0
    header = json.loads(line)
    # SIGALRM's default action ends the process, whatever it is busy with.
    signal.setitimer(signal.ITIMER_REAL, float(header["timeout_s"]) + _ALARM_GRACE_S)
    _confine(header)
    answer: dict[str, Any]
    try:
        data = reader.read()
        screening = screen_pdf(data)
        if screening.passed:
            trust = [Path(p) for p in header["trust"]]
            report = verify_pdf(data, trust, caps=None)
        else:
            report = VerifyReport((), screening.reason_vi, problem=screening.problem)
        answer = {"report": report.to_dict()}
    except TrustStoreError as exc:
        answer = {"failure": "trust", "message": exc.message_vi}
    except (MemoryError, RecursionError):
        answer = {"failure": "overrun"}
    except Exception as exc:  # nothing about the document leaves the child but its report
        answer = {"failure": type(exc).__name__}
    conn.sendall(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
    return 0


def _confine(header: dict[str, Any]) -> None:
    """Cap this process's resources and keep its diagnostics out of every log."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime) + 1 + int(header["cpu_s"])
    _cap(resource.RLIMIT_CORE, 0, 0)
    _cap(resource.RLIMIT_FSIZE, 0, 0)
    _cap(resource.RLIMIT_CPU, cpu, cpu + 1)
    _cap(resource.RLIMIT_AS, int(header["memory_bytes"]), int(header["memory_bytes"]))
    _cap(resource.RLIMIT_NOFILE, int(header["open_files"]), int(header["open_files"]))
    logging.disable(logging.CRITICAL)


def _cap(kind: int, soft: int, hard: int) -> None:
    """Lower a resource limit to ``soft``/``hard``, never above what is already allowed."""
    _, current = resource.getrlimit(kind)
    if current != resource.RLIM_INFINITY:
        hard = min(hard, current)
    resource.setrlimit(kind, (min(soft, hard), hard))
