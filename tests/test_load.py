"""The load benchmark, shortened: 20 users for 8 s against `rag serve`, zero errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.server


def test_twenty_users_for_eight_seconds_get_no_errors(app_server: str, tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            "--url",
            app_server,
            "--users",
            "20",
            "--seconds",
            "8",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    figures = json.loads(out.read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert figures["errors"] == 0 and figures["requests"] >= 20, figures
    print(figures)
