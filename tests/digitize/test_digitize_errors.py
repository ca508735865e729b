"""The digitize error root and the package surface."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import digitize
from digitize.errors import BadInputError, DigitizeError, OcrError, OcrTimeout


def test_subclasses_carry_their_disposition() -> None:
    """Bad input is set aside for the clerk, a timeout retries, every error is a DigitizeError."""
    assert BadInputError("x").disposition == "quarantine"
    assert OcrTimeout("x").disposition == "retry"
    assert OcrError("x").disposition == "fail"
    assert OcrError("x", disposition="retry").disposition == "retry"
    assert all(issubclass(c, DigitizeError) for c in (BadInputError, OcrError, OcrTimeout))


def test_str_is_the_clerks_message() -> None:
    """str() of an error is its Vietnamese message, not the technical detail."""
    error = BadInputError("Tệp 'a.doc' không đọc được", detail="OSError")
    assert str(error) == "Tệp 'a.doc' không đọc được"
    assert error.detail == "OSError"


def test_errors_survive_pickling_across_processes() -> None:
    """Errors raised in worker processes keep class, message, disposition and detail."""
    original = OcrError("Nhận dạng thất bại", disposition="retry", detail="signal 9")
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is OcrError
    assert (copy.message_vi, copy.disposition, copy.detail) == (
        "Nhận dạng thất bại",
        "retry",
        "signal 9",
    )
    assert pickle.loads(pickle.dumps(OcrTimeout("hết giờ"))).disposition == "retry"


def test_package_exports_resolve_without_django() -> None:
    """Every name in digitize.__all__ resolves, and importing them loads no Django module."""
    root = Path(digitize.__file__).resolve().parents[1]
    program = (
        "import sys, digitize\n"
        "missing = [n for n in digitize.__all__ if getattr(digitize, n, None) is None]\n"
        "assert not missing, missing\n"
        "import digitize.oneshot\n"
        "loaded = [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
        "assert not loaded, loaded\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
