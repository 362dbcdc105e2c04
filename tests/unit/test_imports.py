"""Any module of the app's packages can be the first one a program imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", ["tables.users", "agents.dead_letters", "web.routing"])
def test_a_module_imported_before_the_app_loads(module):
    # Each of these was half-loaded when the app, imported by it, registered
    # the modules that import it (a circular import).
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        env={**os.environ, "APP_STORE": "memory://"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
