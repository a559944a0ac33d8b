"""The core stays a library: no Streamlit outside playground/ui, and no LlamaIndex process-global Settings."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

CORE = ROOT / "playground"


def _modules() -> list[Path]:
    return [p for p in CORE.rglob("*.py") if "ui" not in p.relative_to(CORE).parts]


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_core_module_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in _modules() if "streamlit" in _imports(ast.parse(p.read_text()))]
    assert len(_modules()) >= 10
    assert offenders == []


def test_importing_the_core_loads_no_streamlit():
    code = (
        "import sys, playground, playground.__main__, playground.models.ollama, playground.compare\n"
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_module_assigns_llamaindex_settings():
    """Streamlit sessions share one process; Settings.llm = ... in one would leak into every other."""
    offenders = []
    for path in [*CORE.rglob("*.py"), ROOT / "app.py", *(ROOT / "pages").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if isinstance(target, ast.Attribute) and getattr(target.value, "id", None) == "Settings":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
