"""The package's layers import one way, as docs/architecture.md draws them: an ``ast`` walk over every module.

Every import counts, at the top of a module, inside a function (a lazy import) or under ``TYPE_CHECKING``;
``from pytest_cloudjob import Job`` counts as an import of the module the package root takes ``Job`` from.
The table below is the rule; docs/architecture.md shows the same table, and a test keeps the two equal.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pytest_cloudjob"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: layer -> (its modules, as paths under pytest_cloudjob/, and the layers it may import besides its own).
LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "vocabulary": (("protocol.py", "errors.py", "durations.py", "text.py"), ()),
    "redaction": (("redaction/",), ("vocabulary",)),
    "physics": (("physics/",), ("vocabulary",)),
    "reference cloud": (("server/",), ("vocabulary", "physics")),
    "client": (("api/",), ("vocabulary", "redaction")),
    "run": (("run/",), ("vocabulary", "redaction", "client", "reference cloud")),
    "scenarios": (("scenarios/",), ("vocabulary", "redaction", "client", "run", "physics", "reference cloud")),
    "reporting": (("reporting/",), ("vocabulary", "redaction", "client", "run", "scenarios")),
    "plugin": (("plugin.py",), ("vocabulary", "redaction", "client", "run", "reporting", "scenarios")),
    "load": (("load/",), ("vocabulary", "redaction", "client", "run", "scenarios", "reference cloud")),
    "mutation": (("mutation/",), ("vocabulary", "redaction", "client", "run", "reference cloud")),
    "package root": (("__init__.py",), ("vocabulary", "redaction", "physics", "reference cloud", "client", "run",
                                        "reporting", "scenarios")),
}


@dataclass(frozen=True)
class Edge:
    """One import of one of our modules by another, where it is written."""

    importer: str
    imported: str
    line: int


def module_name(package: Path, path: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def root_exports(package: Path) -> dict[str, str]:
    """The package root's lazy ``_EXPORTS`` table: public name -> module it comes from."""
    tree = ast.parse((package / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "_EXPORTS" \
                and node.value is not None:
            value = ast.literal_eval(node.value)
            assert isinstance(value, dict)
            return value
    return {}


def imports_of(package: Path) -> list[Edge]:
    """Every import of ``package``'s own modules, anywhere in any module's body."""
    top = package.name
    modules = {module_name(package, path) for path in package.rglob("*.py")}
    exports = root_exports(package)
    edges = []
    for path in sorted(package.rglob("*.py")):
        importer = module_name(package, path)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            found: list[str] = []
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    whole = f"{node.module}.{alias.name}"
                    if whole in modules:
                        found.append(whole)
                    elif node.module == top and alias.name in exports:
                        found.append(exports[alias.name])
                    else:
                        found.append(node.module)
            elif isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{path}:{node.lineno}: relative import; write the absolute module")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
                found = [str(node.args[0].value)]
            edges += [Edge(importer, name, getattr(node, "lineno", 0)) for name in found
                      if name == top or name.startswith(top + ".")]
    return edges


def layer_of(package: Path, module: str) -> str:
    """The layer ``module`` belongs to; the package root itself (``__version__``) counts as vocabulary."""
    if module == package.name:
        return "vocabulary"
    relative = module.split(".", 1)[1].replace(".", "/")
    for layer, (members, _) in LAYERS.items():
        for member in members:
            if member.endswith("/") and (relative + "/").startswith(member):
                return layer
            if relative + ".py" == member:
                return layer
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS and docs/architecture.md")


def upward_imports(package: Path) -> list[str]:
    """One line per import the table does not allow, ``path:line: importer (layer) imports module (layer)``."""
    wrong = []
    for edge in imports_of(package):
        importer = "package root" if edge.importer == package.name else layer_of(package, edge.importer)
        imported = layer_of(package, edge.imported)
        if imported != importer and imported not in LAYERS[importer][1]:
            wrong.append(f"{edge.importer}:{edge.line}: {importer} imports {edge.imported} ({imported})")
    return wrong


def test_every_import_of_the_package_goes_the_way_the_layers_allow():
    assert upward_imports(PACKAGE) == []


def test_every_module_of_the_package_belongs_to_a_layer():
    for path in PACKAGE.rglob("*.py"):
        name = module_name(PACKAGE, path)
        if name != PACKAGE.name:
            layer_of(PACKAGE, name)


def test_the_root_holds_only_the_vocabulary_and_the_plugin():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "durations.py", "errors.py", "plugin.py",
                                                             "protocol.py", "text.py"]


@pytest.fixture
def copy_of_the_package(tmp_path: Path) -> Path:
    """The package's sources copied to ``tmp_path``, for a test to add a module to."""
    for path in PACKAGE.rglob("*.py"):
        target = tmp_path / "pytest_cloudjob" / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    return tmp_path / "pytest_cloudjob"


@pytest.mark.parametrize(("where", "source", "named"), [
    ("api/upward.py", "from pytest_cloudjob.run.target import CloudRun\n", "pytest_cloudjob.run.target"),
    ("api/lazy.py", "def later():\n    import pytest_cloudjob.scenarios.runner\n", "pytest_cloudjob.scenarios.runner"),
    ("server/client.py", "from pytest_cloudjob import Job\n", "pytest_cloudjob.api.cloud_objects.cloud_job"),
    ("physics/report.py", "from pytest_cloudjob import reporting\n", "pytest_cloudjob.reporting"),
    ("run/typed.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from pytest_cloudjob.plugin import CloudJobPlugin\n", "pytest_cloudjob.plugin"),
    ("redaction/by_name.py", "import importlib\nimportlib.import_module('pytest_cloudjob.api.client')\n",
     "pytest_cloudjob.api.client"),
])
def test_an_upward_import_anywhere_in_a_module_is_named(copy_of_the_package: Path, where: str, source: str,
                                                        named: str) -> None:
    (copy_of_the_package / where).write_text(source)
    wrong = upward_imports(copy_of_the_package)
    module = "pytest_cloudjob." + where.removesuffix(".py").replace("/", ".")
    assert len(wrong) == 1 and wrong[0].startswith(f"{module}:") and f"imports {named} " in wrong[0], wrong


def test_a_downward_import_added_is_allowed(copy_of_the_package: Path) -> None:
    (copy_of_the_package / "run" / "down.py").write_text("from pytest_cloudjob.api.client import Api\n")
    assert upward_imports(copy_of_the_package) == []


def test_a_module_outside_every_layer_is_refused(copy_of_the_package: Path) -> None:
    (copy_of_the_package / "helpers.py").write_text("from pytest_cloudjob import protocol\n")
    with pytest.raises(AssertionError, match="pytest_cloudjob.helpers belongs to no layer"):
        upward_imports(copy_of_the_package)


def test_importing_the_plugin_leaves_the_reference_cloud_app_unloaded():
    """A pytest run starts the cloud as a subprocess: starlette and uvicorn are that process's, not pytest's."""
    code = textwrap.dedent("""
        import sys
        import pytest_cloudjob.plugin
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("starlette", "uvicorn")
                     or m == "pytest_cloudjob.server.app"))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_the_check_sees_the_app_when_the_server_package_loads_it(tmp_path: Path) -> None:
    """The subprocess test above can fail: the server package's old ``__init__`` loaded the app."""
    (tmp_path / "probe.py").write_text("import sys\nimport pytest_cloudjob.server.app\n"
                                       "print('starlette' in sys.modules)\n")
    done = subprocess.run([sys.executable, str(tmp_path / "probe.py")], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


def documented_layers(markdown: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The layer table of docs/architecture.md: ``| layer | modules | may import | ... |`` rows."""
    section = markdown.split("| layer |", 1)[1].split("\n\n", 1)[0]
    table = {}
    for row in section.splitlines()[2:]:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        members = tuple(re.findall(r"`([^`]+)`", cells[1]))
        allowed = () if cells[2] in ("nothing of ours", "—") else tuple(a.strip() for a in cells[2].split(","))
        table[cells[0]] = (members, allowed)
    return table


def test_docs_architecture_shows_the_layers_the_check_enforces():
    assert documented_layers(ARCHITECTURE.read_text()) == LAYERS, (
        "docs/architecture.md's layer table and tests/test_layers.py's LAYERS differ")


def test_no_file_cites_a_design_document_users_do_not_have():
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    citing = [name for name in tracked if name != "tests/test_layers.py" and (ROOT / name).is_file()
              and "DESIGN" + ".md" in (ROOT / name).read_text(errors="replace")]
    assert citing == []
