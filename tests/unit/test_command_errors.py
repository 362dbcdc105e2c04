"""A command given bad options says why in one line and exits as click does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FAUST = Path(sys.executable).with_name("faust")
ROOT = Path(__file__).resolve().parents[2]


def faust(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FAUST), "-A", "app", *args],
        cwd=ROOT,
        env={**os.environ, "APP_STORE": "memory://", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "status", "message"),
    [
        (["replay", "{file}", "--map", "bad"], {}, 2,
         "Error: --map 'bad': expected FIELD=COLUMN"),
        (["produce", "--start", "continue", "--to-file", "{file}"], {}, 2,
         "Error: --start continue follows the topic, not a file"),
        (["produce", "--start", "when?", "--to-file", "{file}"], {}, 2, "Error: "),
        (["initdb"], {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, 1,
         "Error: cannot reach the database"),
    ],
)  # fmt: skip
def test_a_command_error_is_one_line_and_click_s_exit_status(tmp_path, args, env, status, message):
    file = tmp_path / "tx.jsonl"
    file.write_text('{"user_id": "u1"}\n')
    result = faust(*(a.replace("{file}", str(file)) for a in args), env=env)

    assert result.returncode == status, result.stderr
    assert message in result.stderr
    output = result.stderr + result.stdout
    assert "Traceback" not in output
    assert 'File "' not in output  # no stack frames, whoever prints them


def test_a_command_that_succeeds_still_exits_0(tmp_path):
    out = tmp_path / "tx.jsonl"
    result = faust("produce", "--count", "5", "--to-file", str(out))

    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) == 5
