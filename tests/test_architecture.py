"""The core stays a library: no Streamlit outside playground/ui, no LlamaIndex process-global Settings, and
backends (and llama.cpp) used only through their public interface."""

from __future__ import annotations

import ast
import importlib.util
import re
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


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def backend_private_names(models: Path) -> set[str]:
    """The private attributes and methods that the classes in ``models`` define (``_client``, ``_translated``…)."""
    names: set[str] = set()
    for path in models.glob("*.py"):
        for cls in [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)]:
            for node in ast.walk(cls):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(node.name)
                elif isinstance(node, ast.Attribute) and _is_self(node.value):
                    names.add(node.attr)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.add(node.target.id)
    return {n for n in names if _private(n)}


def llama_cpp_private_names() -> set[str]:
    """The private attributes of llama-cpp-python's ``Llama`` and its helpers (``_model``, ``_ctx``…), read from its
    source without importing it."""
    spec = importlib.util.find_spec("llama_cpp")
    assert spec is not None and spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    names: set[str] = set()
    for name in ("llama.py", "_internals.py", "llama_chat_format.py"):
        names.update(re.findall(r"\bself\.(_\w+)", (package / name).read_text()))
    return {n for n in names if _private(n)}


def reaches_into(paths: list[Path], private: set[str], root: Path) -> list[str]:
    """``file:line: expr`` for each ``x._name`` (``x`` not self) with ``_name`` in ``private``, each private
    attribute of the ``llama_cpp`` module, and each private name imported from a backend module or llama_cpp."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                on_llama_cpp = isinstance(node.value, ast.Name) and node.value.id == "llama_cpp"
                if on_llama_cpp or (node.attr in private and not _is_self(node.value)):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
                for name in (f"{module}.{alias.name}".lstrip(".") for alias in node.names):
                    parts = name.split(".")
                    backend = parts[0] == "llama_cpp" or parts[:2] == ["playground", "models"]
                    if backend and any(_private(part) for part in parts):
                        found.append(f"{path.relative_to(root)}:{node.lineno}: import {name}")
    return found


def test_backends_are_used_only_through_their_public_interface():
    """A backend's client and error translation are its own: code elsewhere calls its public methods, so every
    transport error is translated once, inside the backend."""
    private = backend_private_names(CORE / "models") | llama_cpp_private_names()
    assert {"_client", "_translated", "_loaded"} <= private, "the scan knows the backends' private names"
    outside = [p for p in _modules() if "models" not in p.relative_to(CORE).parts]
    callers = [*outside, *(CORE / "ui").rglob("*.py"), ROOT / "app.py", *(ROOT / "pages").glob("*.py")]
    assert reaches_into(callers, private, ROOT) == []


def test_no_module_reaches_into_llama_cpp():
    """llama-cpp-python's private attributes change between releases; its public API is enough."""
    private = llama_cpp_private_names()
    assert {"_model", "_ctx"} <= private
    assert reaches_into(list(CORE.rglob("*.py")), private, ROOT) == []
