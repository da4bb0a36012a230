"""benchmarks/README.md's commands work from any clone: no machine-specific absolute paths, no
particular virtual environment, and every script they run exists."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "benchmarks" / "README.md"


def shell_lines() -> list[str]:
    blocks = re.findall(r"```(?:bash|sh|shell)\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()
            if line.split("#", 1)[0].strip()]


def test_benchmark_commands_work_from_any_clone() -> None:
    lines = shell_lines()
    assert any("benchmarks/bench_core.py" in line for line in lines)
    for line in lines:
        for word in line.split():
            word = word.strip("\"'")
            assert not word.startswith(("/", "~")), f"machine-specific path in {line!r}"
            assert "venv/bin/" not in word, f"a particular virtual environment in {line!r}"
        assert not line.startswith("cd "), f"a machine-specific folder in {line!r}"
        for script in re.findall(r"benchmarks/\w+\.py", line):
            assert (REPO / script).is_file(), f"{script} (in {line!r}) does not exist"
