"""The house rules that keep the layers: import contracts, no import cycle, small modules, no SDK on the
template path. Each test fails when a future change breaks the rule."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "accorria_agent"
MAX_MODULE_LINES = 600


def test_import_contracts_hold() -> None:
    """``lint-imports`` (the contracts in pyproject.toml): layers only point down, messenger imports no
    domain, the product never imports the simulator or the benchmarks."""
    executable = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run(
        [executable, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("accorria_agent", exclude_type_checking_imports=True, cache_dir=None)
    return {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}


def test_no_import_cycle_between_modules_or_packages() -> None:
    edges = _graph()
    assert _cycles(edges) == []
    packages: dict[str, set[str]] = {}
    for module, imported in edges.items():
        for target in imported:
            source_top, target_top = module.split(".")[:2], target.split(".")[:2]
            if source_top != target_top:
                packages.setdefault(".".join(source_top), set()).add(".".join(target_top))
    assert _cycles(packages) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_600_lines() -> None:
    long = [
        f"{path.relative_to(SRC)}: {count}"
        for path in sorted(SRC.rglob("*.py"))
        if "migrations" not in path.parts
        and (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


@pytest.mark.parametrize("with_key", [False, True])
def test_the_template_path_never_loads_the_openai_sdk(tmp_path: Path, with_key: bool) -> None:
    """Building the runtime without ``OPENAI_API_KEY`` does not import ``openai``; with a key it does
    (so the check would notice if the split stopped mattering)."""
    script = (
        "import sys\n"
        "from accorria_agent.settings import Settings\n"
        "from accorria_agent.runtime import build_runtime\n"
        "runtime = build_runtime(Settings())\n"
        "print('openai' in sys.modules)\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "DATABASE_URL", "REDIS_URL", "JOB_QUEUE"))
    }
    env.update(
        {
            "ACCORRIA_DATA_DIR": str(tmp_path),
            "ACCORRIA_ENV": "development",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
    )
    if with_key:
        env["OPENAI_API_KEY"] = "sk-test-not-a-real-key"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(with_key)
