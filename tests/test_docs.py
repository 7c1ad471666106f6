"""The README's promise: two commands on a fresh machine, the second being what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    install_and_demo, tests = quick_start_commands()
    assert "pip install" in install_and_demo and install_and_demo.endswith("companion demo")
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert tests in ci_lines


def test_ci_runs_every_static_check_before_the_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    checks = ["ruff check", "ruff format --check", "mypy --strict companion", "lint-imports"]
    positions = [ci.index(check) for check in checks]
    assert positions == sorted(positions)
    assert max(positions) < ci.index(quick_start_commands()[1])


def test_design_docs_name_every_module() -> None:
    architecture = (ROOT / "docs" / "design" / "architecture.md").read_text()
    for module in sorted((ROOT / "companion").rglob("*.py")):
        if module.name in ("__init__.py", "__main__.py") or module.parent.name == "cli":
            continue
        assert module.name in architecture, f"{module.relative_to(ROOT)} is not in architecture.md"
