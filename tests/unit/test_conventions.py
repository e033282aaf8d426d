"""Catalog conventions (`snakemake --lint`: tests/workflow/test_lint.py): `snakefmt --check .` passes; every rule that
runs a script declares a conda env that would work under `--sdm conda` (third-party packages pinned as in
pyproject.toml, no local path); the scripts import the project from the repository, installed or not."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from workflow_helpers import REPO

SCRIPTS = REPO / "workflow" / "scripts"
LOCAL_PATH = re.compile(r"^(-e\b|\.|/|~|file:)|\.\.|git\+")


def run(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)


# ------------------------------------------------------------------ the linter and the formatter


def test_snakefmt_check_passes():
    r = run(sys.executable, "-m", "snakefmt", "--check", ".", cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff_passes(command):
    """ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade; configured in pyproject.toml) finds nothing."""
    r = run(sys.executable, "-m", "ruff", *command, cwd=REPO)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


# ------------------------------------------------------------------ the rules' conda envs
def rules() -> dict[str, dict]:
    """Every rule of the workflow: its file, and its conda env and script (paths as written), if any."""
    out = {}
    for smk in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        for block in re.split(r"(?m)^(?=rule )", smk.read_text())[1:]:
            name = re.match(r"rule (\w+):", block).group(1)
            field = {k: re.search(rf'(?m)^    {k}:\n\s+"([^"]+)"', block) for k in ("conda", "script")}
            out[name] = {"file": smk, **{k: m.group(1) if m else None for k, m in field.items()}}
    return out


def env_packages(env_file: Path) -> dict[str, str]:
    """name -> version spec of every package an env file lists (conda and pip alike)."""
    deps = yaml.safe_load(env_file.read_text())["dependencies"]
    entries = [d for d in deps if isinstance(d, str)] + [p for d in deps if isinstance(d, dict) for p in d["pip"]]
    out = {}
    for e in entries:
        if e.startswith("-e "):
            out[e] = ""
            continue
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", e).groups()
        out[canonicalize_name(name)] = spec
    return out


def pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return {canonicalize_name(r.name): r for r in map(Requirement, reqs)}


def rule_envs() -> dict[Path, list[str]]:
    """env file -> the scripts of the rules that declare it."""
    envs: dict[Path, list[str]] = {}
    for _name, r in rules().items():
        if r["conda"]:
            env = (r["file"].parent / r["conda"]).resolve()
            envs.setdefault(env, []).append((r["file"].parent / r["script"]).resolve().name)
    return envs


def test_every_script_rule_declares_one_of_the_envs():
    found = rules()
    assert len(found) > 20
    no_env = [n for n, r in found.items() if r["script"] and not r["conda"]]
    assert no_env == []
    envs = rule_envs()
    assert {e.name for e in envs} == {"torch.yaml", "analysis.yaml"}
    assert all(e.parent == REPO / "envs" and e.exists() for e in envs)


@pytest.mark.parametrize("env", ["torch.yaml", "analysis.yaml", "transferlab.yaml"])
def test_env_file_pins_as_pyproject(env):
    """Each package with the version spec pyproject.toml gives it (torch and torchvision pinned); no local
    path in a rule's env (Snakemake copies it to .snakemake/conda/ before creating it), no `name:` needed."""
    path = REPO / "envs" / env
    pkgs = env_packages(path)
    reqs = pyproject_requirements()
    local = [p for p in pkgs if LOCAL_PATH.search(p)]
    if env == "transferlab.yaml":  # the whole-project env: `conda env create -f envs/transferlab.yaml`
        assert local == ["-e .."]
    else:
        assert local == [], f"{env} refers to a local path: {local}"
    has_pip_section = any(isinstance(d, dict) for d in yaml.safe_load(path.read_text())["dependencies"])
    assert pkgs.pop("python").startswith("=3.") and pkgs.pop("pip", None) == ("" if has_pip_section else None)
    for name, spec in pkgs.items():
        if name in local:
            continue
        assert name in reqs, f"{env}: {name} is not a dependency in pyproject.toml"
        assert SpecifierSet(spec) == reqs[name].specifier, f"{env}: {name}{spec}, pyproject.toml: {reqs[name]}"
    if env == "torch.yaml":
        assert pkgs["torch"] == "==2.14.1" and pkgs["torchvision"] == "==0.29.1"
    assert yaml.safe_load(path.read_text())["channels"][0] == "conda-forge"


def imported_modules(script: Path) -> list[str]:
    """The modules a script imports (not the path helper)."""
    tree = ast.parse(script.read_text())
    names = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module]
    return [n for n in names if n != "_project"]


LOADED = """
import importlib, json, sys
if sys.argv[1] == "no-torch":  # as in an env without torch: importing it fails
    sys.modules["torch"] = sys.modules["torchvision"] = None
sys.path.insert(0, sys.argv[2])
for m in json.loads(sys.argv[3]):
    importlib.import_module(m)
print(json.dumps(sorted({m.split(".")[0] for m, mod in list(sys.modules.items()) if mod is not None})))
"""


@pytest.mark.parametrize("env", ["torch.yaml", "analysis.yaml"])
def test_env_has_what_its_scripts_import(env):
    """Every project dependency that a rule's script loads (directly or through transferlab) is in the rule's
    env; the analysis env's scripts (claims, tables, figures) load no torch."""
    scripts = rule_envs()[REPO / "envs" / env]
    modules = sorted({m for s in scripts for m in imported_modules(SCRIPTS / s)})
    mode = "no-torch" if env == "analysis.yaml" else "all"
    r = run(sys.executable, "-c", LOADED, mode, str(REPO), json.dumps(modules))
    assert r.returncode == 0, f"{env}: the scripts {scripts} cannot import {modules}:\n{r.stderr[-3000:]}"
    dists = importlib.metadata.packages_distributions()
    loaded = {canonicalize_name(d) for top in json.loads(r.stdout) for d in dists.get(top, [])}
    needed = loaded & set(pyproject_requirements()) - {"snakemake", "snakemake-executor-plugin-slurm"}
    listed = set(env_packages(REPO / "envs" / env))
    assert needed <= listed, f"{env} lacks {sorted(needed - listed)}"
    assert ("torch" in needed) == (env == "torch.yaml")


# ------------------------------------------------------------------ the scripts find the project
def test_every_script_imports_the_path_helper_first():
    for script in sorted(SCRIPTS.glob("*.py")):
        if script.name == "_project.py":
            continue
        first = ast.parse(script.read_text()).body[0]
        assert isinstance(first, ast.Import) and first.names[0].name == "_project", script.name


RUN_COPY = """
import runpy, sys, types
site, scripts, copy, out = sys.argv[1:]
sys.path.append(site)  # third-party packages; without site's .pth files the editable transferlab is absent
try:
    import transferlab
    raise SystemExit("transferlab importable without the repository on sys.path: the test proves nothing")
except ImportError:
    pass
sys.path.append(scripts)  # what Snakemake's preamble adds for a local script
import json, pathlib
here = pathlib.Path(out).parent
(here / "classes.json").write_text(json.dumps({"wnids": ["n01443537"], "identity": "md5:0"}))
(here / "meta.json").write_text(json.dumps({"images_per_class": {"train": [3, 3]}}))
snakemake = types.SimpleNamespace(output=[out], log=[], rule="write_config", scriptdir=scripts,
                                  input=types.SimpleNamespace(classes=here / "classes.json",
                                                              prepared=here / "meta.json"),
                                  config={"threads_per_job": 1},
                                  params=types.SimpleNamespace(config={"dataset": "tiny-imagenet"}))
runpy.run_path(copy, init_globals={"snakemake": snakemake}, run_name="__main__")
import transferlab
print(transferlab.__file__)
"""


def test_script_imports_the_repository_package_where_it_is_not_installed(tmp_path):
    """A rule's conda env has no transferlab: a script run as Snakemake runs it (a copy under .snakemake/scripts,
    the scripts folder appended to sys.path) by a Python without the project installed finds this repository's."""
    copy = tmp_path / ".snakemake" / "scripts" / "tmp1234.write_config.py"
    copy.parent.mkdir(parents=True)
    shutil.copy(SCRIPTS / "write_config.py", copy)
    out = tmp_path / "config_used.yaml"
    site = sysconfig.get_paths()["purelib"]
    r = run(sys.executable, "-S", "-c", RUN_COPY, site, str(SCRIPTS), str(copy), str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert Path(r.stdout.strip().splitlines()[-1]) == REPO / "transferlab" / "__init__.py"
    assert out.read_text().startswith("# code revision: ") and "dataset: tiny-imagenet" in out.read_text()


def test_known_errors_are_one_line_and_scripting_loads_no_torch(tmp_path):
    """transferlab.run.scripting turns the project's errors into one message and exit code 1, without importing
    torch itself (plotting jobs run in an env without it)."""
    code = """
import sys, types
sys.modules["torch"] = None
from transferlab.run.scripting import run
from transferlab.errors import SplitError
def fail(s):
    raise SplitError("no such class")
run(types.SimpleNamespace(log=[], rule="make_split"), fail)
"""
    r = run(sys.executable, "-c", code, cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip() == "ERROR in rule make_split: no such class", r.stderr


def test_readme_counts_the_malformed_inputs_the_suite_tests():
    r = run(
        sys.executable,
        "-m",
        "pytest",
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
        str(REPO / "tests/workflow/test_bad_input.py"),
        cwd=REPO,
    )
    n = sum("::" in line for line in r.stdout.splitlines())
    assert n > 20, r.stdout[-2000:]
    assert f"{n} malformed inputs (`tests/workflow/test_bad_input.py`" in (REPO / "docs/development.md").read_text()


def test_every_targeted_mutation_still_applies():
    """Each planted bug of tests/mutation/targeted.py edits a snippet found exactly once in its file: a snippet
    that moved or changed would silently test nothing (make mutation-targeted refuses it, but runs rarely)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("targeted", REPO / "tests/mutation/targeted.py")
    targeted = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("targeted", targeted)  # its dataclass looks its module up
    spec.loader.exec_module(targeted)
    stale = [
        (m.name, m.file, (REPO / m.file).read_text().count(m.old))
        for m in targeted.MUTATIONS
        if (REPO / m.file).read_text().count(m.old) != 1
    ]
    assert not stale, f"mutations whose snippet is not found exactly once (name, file, count): {stale}"
    missing = [(m.name, t) for m in targeted.MUTATIONS for t in m.tests if not (REPO / t).exists()]
    assert not missing, f"mutations naming test files that do not exist: {missing}"


# The layers, bottom up: a module imports only from its own layer and the layers below it. The package's own
# top-level modules are the foundation every layer may use; nets and data share a rank but not each other.
LAYER_RANK = {"": 0, "reference": 0, "nets": 1, "data": 1, "training": 2, "analysis": 3, "run": 4}


def _package_imports() -> dict[str, set[str]]:
    """Every transferlab module (dotted, without the package prefix) and the package modules it imports,
    lazily inside functions too; ``from transferlab.layer import name`` counts as importing the layer."""
    pkg = REPO / "transferlab"
    graph = {}
    for path in sorted(pkg.rglob("*.py")):
        parts = path.relative_to(pkg).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        here = list(parts[:-1])
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    target = ".".join([*base, node.module] if node.module else base)
                elif node.module and node.module.startswith("transferlab"):
                    target = node.module.removeprefix("transferlab").lstrip(".")
                else:
                    continue
                deps.add(target)
            elif isinstance(node, ast.Import):
                deps.update(
                    a.name.removeprefix("transferlab.") for a in node.names if a.name.startswith("transferlab.")
                )
        graph[module] = {d for d in deps if d} - {module}
    return graph


def _layer(module: str) -> str:
    return module.split(".")[0] if "." in module or module in LAYER_RANK else ""


def test_every_module_belongs_to_a_layer():
    unknown = [m for m in _package_imports() if _layer(m) not in LAYER_RANK]
    assert not unknown, f"modules outside the layers {sorted(LAYER_RANK)}: {unknown}"
    assert {_layer(m) for m in _package_imports()} == set(LAYER_RANK), "a layer without modules"


def test_imports_only_go_down_the_layers():
    """A lower layer never imports a higher one, nets and data never import each other, the foundation
    imports no layer, and the model families import only units (and the foundation)."""
    upward = []
    for module, deps in _package_imports().items():
        for dep in deps:
            lm, ld = _layer(module), _layer(dep)
            if lm == ld:
                continue
            if LAYER_RANK[ld] > LAYER_RANK[lm] or (LAYER_RANK[ld] == LAYER_RANK[lm] and ld):
                upward.append(f"{module} -> {dep}")
    assert not upward, f"imports that go up or sideways between layers: {upward}"
    graph = _package_imports()
    for family in ("nets.caffenet", "nets.resnet"):
        assert {d for d in graph[family] if _layer(d)} <= {"nets.units"}, f"{family} imports {graph[family]}"


def test_the_import_direction_check_sees_a_lazy_upward_import(tmp_path, monkeypatch):
    """The walk above reads imports inside functions: planted in a copy, a lazy upward import is found."""
    copy = tmp_path / "transferlab"
    shutil.copytree(REPO / "transferlab", copy, ignore=shutil.ignore_patterns("__pycache__"))
    units = copy / "nets" / "units.py"
    units.write_text(units.read_text() + "\n\ndef _late():\n    from transferlab.run import design\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert "run" in _package_imports()["nets.units"]
    with pytest.raises(AssertionError, match="nets.units -> run"):
        test_imports_only_go_down_the_layers()


def test_the_package_import_graph_has_no_cycle():
    """No two transferlab modules import each other, directly or through others (lazy imports count)."""
    graph = _package_imports()
    state: dict[str, str] = {}

    def visit(module, path):
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            assert state.get(dep) != "open", f"import cycle: {' -> '.join(path + [dep])}"
            if dep not in state:
                visit(dep, path + [dep])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize("layer", [name for name in LAYER_RANK if name not in ("", "reference")])
def test_each_layer_offers_its_public_names(layer):
    """Every name a layer's __init__ lists is there, in the module it names, and importing the layer
    imports none of its modules (a plotting job pays only for what it uses)."""
    code = (
        f"import sys, transferlab.{layer} as L\n"
        f"loaded = [m for m in sys.modules if m.startswith('transferlab.{layer}.')]\n"
        "missing = [n for n in L.__all__ if getattr(L, n, None) is None]\n"
        "print(loaded, missing)"
    )
    r = run(sys.executable, "-c", code, cwd=REPO)
    assert r.returncode == 0 and r.stdout.split("] ")[0] == "[", r.stdout + r.stderr
    assert r.stdout.strip().endswith("[]"), f"names listed but not found: {r.stdout}"


def test_the_module_map_in_the_docs_lists_every_module():
    """docs/development.md's module map names each module under its layer, and no module that is gone."""
    text = (REPO / "docs/development.md").read_text()
    rows = re.findall(r"^\| `transferlab/(\w*)/?` \| ([^|]+) \|", text, re.M)
    documented = {(layer, m.strip(" `")) for layer, mods in rows for m in mods.split(",")}
    actual = {(_layer(m), m.split(".")[-1]) for m in _package_imports() if m not in LAYER_RANK}
    assert documented == actual, f"missing: {sorted(actual - documented)}, stale: {sorted(documented - actual)}"


def test_a_caffenet_job_does_not_import_torchvision():
    """The family registry imports a family's module when first used: torchvision (the residual family's, a
    second or more to import) stays out of every CaffeNet training and evaluation job."""
    code = (
        "import sys, transferlab.training.train, transferlab.training.evaluate, transferlab.run.design\n"
        "from transferlab.nets.models import build_model\n"
        "build_model({'widths': [8] * 5 + [16, 16], 'input_size': 32, 'num_classes': 3, 'conv1_kernel': 3,"
        " 'conv1_stride': 1, 'conv1_pad': 1, 'groups': 2, 'init': 'kaiming'})\n"
        "print('torchvision' in sys.modules)"
    )
    r = run(sys.executable, "-c", code, cwd=REPO)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stdout + r.stderr


def test_module_docstrings_are_a_few_lines():
    """A module says in a few lines what it is; the detail lives in docs/library.md, one section per module."""
    long = {}
    for path in sorted((REPO / "transferlab").rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""
        if doc.count("\n") + 1 > 6:
            long[str(path.relative_to(REPO))] = doc.count("\n") + 1
    assert not long, f"module docstrings over 6 lines: {long}"
    library = (REPO / "docs/library.md").read_text()
    pointers = re.findall(
        r"The detail: docs/library\.md, `([^`]+)`", "".join(p.read_text() for p in (REPO / "transferlab").rglob("*.py"))
    )
    missing = [p for p in pointers if f"## `{p}`" not in library or not (REPO / p).exists()]
    assert not missing, f"docstrings pointing to no section of docs/library.md: {missing}"
