"""Build the Lambda layer folders that ``template.yaml`` points at, and measure what each function ships.

Three layers, each built into ``layers/<name>/build/layer`` (the layer's ``ContentUri``; Lambda mounts its
contents under ``/opt``):

- ``deps``: the third-party runtime (``layers/deps/requirements.txt``), resolved once and installed for the
  Lambda platform with ``pip install --target --platform ... --only-binary=:all:``, trimmed, then split by
  distribution into three layers so that no function carries what it never imports (all together they are
  ~280 MiB, over Lambda's 250 MiB): ``deps/build/layer/base`` (NumPy, Pillow, pydantic, Powertools, lapjv:
  every function), ``.../onnx`` (ONNX Runtime: embedding) and ``.../science`` (SciPy, lap, scikit-learn,
  openTSNE: reduction and quality metrics). A distribution needed by two groups goes to ``base``.
- ``gridtsne``: the library as ``python/gridtsne`` (with its ``.dist-info``, so ``importlib.metadata`` works).
- ``model``: the ONNX model and its spec as ``model/efficientnet_lite0.{onnx,json}``, i.e.
  ``/opt/model/efficientnet_lite0.onnx`` on Lambda, the first place ``gridtsne.core.model`` looks.

Why Lambda ``python3.12`` and not ``python3.11``: the 3.11 runtime runs on Amazon Linux 2 (glibc 2.26), and
onnxruntime has published no wheel for glibc < 2.27 since 1.16 (which predates NumPy 2); openTSNE 1.0.4 needs
glibc 2.24+. The 3.12 runtime runs on Amazon Linux 2023 (glibc 2.34), which loads every pinned wheel. lapjv
publishes no CPython 3.12 wheel at all, so it is built here from its sdist with a local ``python3.12`` and the
resulting extension is checked to need no newer glibc/libstdc++ symbols than Amazon Linux 2023 provides.

Builds are cached: a layer is rebuilt only when its inputs change (``--force`` rebuilds anyway).

Usage: python layers/build.py [--force] [--only deps,gridtsne,model] [--template template.yaml]
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ROOT / "layers"
TEMPLATE = ROOT / "template.yaml"

#: The Lambda runtime the layers are built for (see the module docstring for why 3.12).
TARGET_PYTHON = (3, 12)
#: Amazon Linux 2023 (the python3.12 image): glibc 2.34, libstdc++ from GCC 11 (GLIBCXX_3.4.29).
TARGET_GLIBC = (2, 34)
TARGET_GLIBCXX = (3, 4, 29)
#: Wheels the Lambda image can load: every manylinux tag up to its glibc, plus locally built wheels.
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(TARGET_GLIBC[1], 16, -1)),
    "manylinux2014_x86_64",
    "linux_x86_64",
)
#: Requirements without a wheel for the target; built from the sdist with the target interpreter.
SOURCE_BUILDS = frozenset({"lapjv"})
#: Directory names removed from the deps layer: test suites and byte code (the runtime compiles on import).
TRIM_DIR_NAMES = frozenset({"tests", "__pycache__"})
#: Paths (relative to ``python/``) removed from the deps layer: console scripts (never on Lambda's PATH),
#: and onnxruntime's model-conversion tool kits, which inference never imports.
TRIM_PATHS = ("bin", "onnxruntime/transformers", "onnxruntime/tools", "onnxruntime/quantization")
#: Files removed by pattern: ONNX Runtime's shared library for C/C++ callers (the Python extension links the
#: runtime statically and never loads it; 33 MiB).
TRIM_GLOBS = ("onnxruntime/capi/libonnxruntime.so.*",)
#: File suffixes removed: type stubs, byte code, and C/C++/Cython sources and headers (compile time only).
TRIM_SUFFIXES = (".pyi", ".pyc", ".pyx", ".pxd", ".pxi", ".h", ".c", ".cpp")
#: Layer group of each top-level requirement (and of what only it pulls in); the rest go to ``base``.
ROOT_GROUPS = {
    "onnxruntime": "onnx",
    "scipy": "science",
    "lap": "science",
    "scikit-learn": "science",
    "opentsne": "science",
}
BASE_GROUP = "base"
#: Distributions the Lambda Python runtime already provides (boto3 and what it pulls in): installed only
#: because something requires them (the X-Ray SDK requires botocore, 30 MiB), removed from the layers.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "urllib3", "python-dateutil", "six"})
RUNTIME_GROUP = "lambda-runtime"
#: The environment the Lambda interpreter evaluates requirement markers in.
TARGET_MARKERS = {
    "python_version": "{}.{}".format(*TARGET_PYTHON),
    "python_full_version": "{}.{}.0".format(*TARGET_PYTHON),
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}
#: Lambda's limit on a function's code plus all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
MODEL_NAME = "efficientnet_lite0"
MODEL_BUILD = LAYERS / "model" / "build" / "model"


class BuildError(RuntimeError):
    """A layer could not be built as the Lambda platform needs it."""


@dataclass(frozen=True)
class Layer:
    """One layer: its name, its build function and the inputs whose change triggers a rebuild."""

    name: str
    build: Callable[[Path], None]
    inputs: Callable[[], Iterable[Path]]

    @property
    def build_dir(self) -> Path:
        """``layers/<name>/build``: caches and the layer folder."""
        return LAYERS / self.name / "build"

    @property
    def content(self) -> Path:
        """The layer folder (``ContentUri``), mounted as ``/opt`` on Lambda."""
        return self.build_dir / "layer"


# ---------------------------------------------------------------------------------------------- helpers


def _run(cmd: list[str], *, cwd: Path | None = None) -> None:
    """Run a command; raise :class:`BuildError` with its output when it fails."""
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root``, sorted, skipping ``__pycache__``."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield path


def tree_size(root: Path) -> int:
    """Bytes of all files under ``root`` (what Lambda counts once the zip is unpacked)."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def _digest(paths: Iterable[Path], extra: str = "") -> str:
    """A hash of file names, sizes and contents, to decide whether a cached build is current."""
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def requirement_name(line: str) -> str | None:
    """The normalised project name of a requirements line, or None for comments and blanks."""
    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
    return re.sub(r"[-_.]+", "-", match.group(0)).lower() if match else None


def _python_version(interpreter: str) -> tuple[int, ...] | None:
    """``sys.version_info[:2]`` of an interpreter, or None when it does not run."""
    try:
        done = subprocess.run(
            [interpreter, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
    except OSError:
        return None
    return tuple(int(x) for x in done.stdout.split()) if done.returncode == 0 else None


def target_python() -> str:
    """A local interpreter of the target version, for source builds.

    ``$GRIDTSNE_LAYER_PYTHON``, else ``python3.X`` on PATH, else a pyenv installation of that version.
    """
    wanted = "python{}.{}".format(*TARGET_PYTHON)
    candidates = [os.environ.get("GRIDTSNE_LAYER_PYTHON"), shutil.which(wanted)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(p) for p in sorted(pyenv.glob("{}.{}.*/bin/".format(*TARGET_PYTHON) + wanted))]
    for candidate in candidates:
        if candidate and _python_version(candidate) == TARGET_PYTHON:
            return candidate
    raise BuildError(f"{wanted} is needed to build {sorted(SOURCE_BUILDS)} for the layer; none found")


# ----------------------------------------------------------------------------------- symbol version check


def _needed_versions(library: Path) -> list[tuple[str, str]]:
    """``(needed library, version)`` pairs from the ELF version references (``objdump -p``)."""
    done = subprocess.run(["objdump", "-p", str(library)], capture_output=True, text=True, check=False)
    needed: list[tuple[str, str]] = []
    source = ""
    for line in done.stdout.splitlines():
        if (match := re.match(r"\s+required from (\S+):", line)) is not None:
            source = match.group(1)
        elif source and (match := re.search(r"\b(GLIBC(?:XX)?_[0-9.]+)$", line.strip())) is not None:
            needed.append((source, match.group(1)))
    return needed


def too_new_symbols(root: Path) -> list[str]:
    """Shared objects under ``root`` that need a newer glibc/libstdc++ than the Lambda image has.

    Dependencies on libraries bundled in the layer itself (``*.libs``) are satisfied there and not counted.
    Empty when ``objdump`` is unavailable (the check is then skipped).
    """
    if shutil.which("objdump") is None:
        return []
    libraries = [p for p in root.rglob("*.so*") if p.is_file()]
    bundled = {p.name for p in libraries}
    problems = []
    for library in libraries:
        for source, version in _needed_versions(library):
            if source in bundled:
                continue
            name, _, number = version.partition("_")
            parts = tuple(int(x) for x in number.split(".") if x.isdigit())
            limit = TARGET_GLIBCXX if name == "GLIBCXX" else TARGET_GLIBC
            if name in {"GLIBC", "GLIBCXX"} and parts > limit:
                problems.append(f"{library.relative_to(root)} needs {version} from {source}")
    return problems


# ------------------------------------------------------------------------------------------ trimming


def trim(site: Path) -> int:
    """Remove test suites, byte code, stubs and unused tool kits under ``site``; return bytes removed.

    The ``.dist-info/RECORD`` files are rewritten to list only what is left, so they stay valid.
    """
    before = tree_size(site)
    for relative in TRIM_PATHS:
        target = site / relative
        if target.is_dir():
            shutil.rmtree(target)
    for pattern in TRIM_GLOBS:
        for path in site.glob(pattern):
            path.unlink()
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts)):
        if not path.exists():
            continue
        if path.is_dir() and path.name in TRIM_DIR_NAMES:
            shutil.rmtree(path)
        elif path.is_file() and path.suffix in TRIM_SUFFIXES:
            path.unlink()
    for record in site.glob("*.dist-info/RECORD"):
        rewrite_record(site, record)
    return before - tree_size(site)


def _record_hash(path: Path) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def rewrite_record(site: Path, record: Path) -> None:
    """Drop RECORD rows whose file is gone; refresh hash and size of rows whose size changed."""
    rows = list(csv.reader(io.StringIO(record.read_text())))
    kept: list[list[str]] = []
    for row in rows:
        if not row:
            continue
        path = (site / row[0]).resolve()
        if row[0] == str(record.relative_to(site)):
            kept.append([row[0], "", ""])
        elif path.is_file() and site.resolve() in path.parents:
            if len(row) >= 3 and row[2] and int(row[2]) != path.stat().st_size:
                row = [row[0], _record_hash(path), str(path.stat().st_size)]
            kept.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(kept)
    record.write_text(out.getvalue())


# ------------------------------------------------------------------------------------------ splitting


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(site: Path) -> dict[str, Path]:
    """``{normalised name: .dist-info folder}`` of the distributions installed in ``site``."""
    found = {}
    for info in site.glob("*.dist-info"):
        metadata = Parser().parsestr((info / "METADATA").read_text(errors="replace"), headersonly=True)
        found[_normalise(metadata["Name"])] = info
    return found


def requires(info: Path) -> list[str]:
    """Normalised names a distribution needs on the Lambda platform (extras and foreign markers dropped)."""
    metadata = Parser().parsestr((info / "METADATA").read_text(errors="replace"), headersonly=True)
    needed = []
    for text in metadata.get_all("Requires-Dist") or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(TARGET_MARKERS):
            needed.append(_normalise(requirement.name))
    return needed


def group_distributions(site: Path, roots: dict[str, str]) -> dict[str, str]:
    """Assign every distribution in ``site`` to a layer group.

    ``roots`` maps top-level requirements to groups. A distribution reached only from one group's roots
    joins that group; one reached from several groups (or from none) joins :data:`BASE_GROUP`; what the
    Lambda runtime provides joins :data:`RUNTIME_GROUP` (not deployed).
    """
    infos = distributions(site)
    reached: dict[str, set[str]] = {name: set() for name in infos}
    for root, group in roots.items():
        stack, seen = [root], set()
        while stack:
            name = stack.pop()
            if name in seen or name not in infos:
                continue
            seen.add(name)
            reached[name].add(group)
            stack.extend(requires(infos[name]))
    grouped = {name: groups.pop() if len(groups) == 1 else BASE_GROUP for name, groups in reached.items()}
    return {name: RUNTIME_GROUP if name in RUNTIME_PROVIDED else group for name, group in grouped.items()}


def split_site(site: Path, dest: Path, groups: dict[str, str]) -> None:
    """Move each distribution's files (per its RECORD) from ``site`` to ``dest/<group>/python``.

    Files that no RECORD lists stay with :data:`BASE_GROUP`.
    """
    infos = distributions(site)
    for name, info in infos.items():
        target = dest / groups[name] / "python"
        rows = csv.reader(io.StringIO((info / "RECORD").read_text()))
        for row in rows:
            source = (site / row[0]).resolve() if row else None
            if source is None or not source.is_file() or site.resolve() not in source.parents:
                continue
            moved = target / source.relative_to(site.resolve())
            moved.parent.mkdir(parents=True, exist_ok=True)
            source.rename(moved)
        if info.exists():
            shutil.copytree(info, target / info.name, dirs_exist_ok=True)
            shutil.rmtree(info)
    rest = dest / BASE_GROUP / "python"
    for leftover in _files(site):
        moved = rest / leftover.relative_to(site)
        moved.parent.mkdir(parents=True, exist_ok=True)
        leftover.rename(moved)
    shutil.rmtree(site)


# ------------------------------------------------------------------------------------------- layers


def _deps_inputs() -> list[Path]:
    return [LAYERS / "deps" / "requirements.txt", Path(__file__).resolve()]


def build_deps(dest: Path) -> None:
    """Install ``layers/deps/requirements.txt`` for the Lambda platform, trim it, split it into groups."""
    requirements = LAYERS / "deps" / "requirements.txt"
    wheels = LAYERS / "deps" / "build" / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    lines = requirements.read_text().splitlines()
    for line in lines:
        name = requirement_name(line)
        if name in SOURCE_BUILDS and not any(wheels.glob(f"{name}-*.whl")):
            _run(
                [target_python(), "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                 "--no-binary", name, "--wheel-dir", str(wheels), line.split("#", 1)[0].strip()]
            )  # fmt: skip
    site = dest / "staging"
    version = "{}.{}".format(*TARGET_PYTHON)
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    _run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         "--target", str(site), "--implementation", "cp", "--python-version", version, *platforms,
         "--only-binary=:all:", "--find-links", str(wheels), "-r", str(requirements)]
    )  # fmt: skip
    trim(site)
    if problems := too_new_symbols(site):
        raise BuildError("libraries too new for the Lambda image:\n" + "\n".join(problems))
    split_site(site, dest, group_distributions(site, _roots(lines)))
    shutil.rmtree(dest / RUNTIME_GROUP, ignore_errors=True)


def _roots(lines: Iterable[str]) -> dict[str, str]:
    """Top-level requirement names and their layer groups."""
    names = [name for name in map(requirement_name, lines) if name]
    return {name: ROOT_GROUPS.get(name, BASE_GROUP) for name in names}


def _library_inputs() -> list[Path]:
    source = LAYERS / "gridtsne"
    return [source / "pyproject.toml", *_files(source / "gridtsne")]


def build_library(dest: Path) -> None:
    """Install the library (pure Python, no dependencies) into ``dest/python``."""
    source = LAYERS / "gridtsne"
    with tempfile.TemporaryDirectory() as scratch:
        # Build from a copy so that setuptools' own build/ output never lands in the source tree.
        copy = Path(scratch) / "gridtsne"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        _run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--no-compile", "--no-build-isolation", "--target", str(dest / "python"), str(copy)]
        )  # fmt: skip
    shutil.rmtree(dest / "python" / "bin", ignore_errors=True)
    for record in (dest / "python").glob("*.dist-info/RECORD"):
        rewrite_record(dest / "python", record)


def _model_inputs() -> list[Path]:
    return [MODEL_BUILD / f"{MODEL_NAME}.onnx", MODEL_BUILD / f"{MODEL_NAME}.json"]


def build_model(dest: Path) -> None:
    """Place the exported model as ``dest/model/`` (hard links when possible: no second copy on disk)."""
    missing = [path for path in _model_inputs() if not path.is_file()]
    if missing:
        raise BuildError(f"model not exported yet ({', '.join(map(str, missing))}); run `make model`")
    (dest / "model").mkdir(parents=True)
    for path in _model_inputs():
        target = dest / "model" / path.name
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


LAYER_SPECS = {
    "deps": Layer("deps", build_deps, _deps_inputs),
    "gridtsne": Layer("gridtsne", build_library, _library_inputs),
    "model": Layer("model", build_model, _model_inputs),
}


def build(layer: Layer, *, force: bool = False) -> Path:
    """Build ``layer`` unless its cached build is current; return its layer folder."""
    stamp = layer.build_dir / "stamp.json"
    inputs = [p for p in layer.inputs() if p.is_file()]
    key = _digest(inputs, extra=json.dumps([TARGET_PYTHON, PLATFORMS, layer.name]))
    if not force and layer.content.is_dir() and stamp.is_file() and json.loads(stamp.read_text()) == key:
        return layer.content
    layer.build_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="layer-", dir=layer.build_dir))
    try:
        layer.build(scratch)
        shutil.rmtree(layer.content, ignore_errors=True)
        scratch.rename(layer.content)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stamp.write_text(json.dumps(key))
    return layer.content


def build_all(names: Iterable[str] = LAYER_SPECS, *, force: bool = False) -> dict[str, Path]:
    """Build the named layers (all by default); return ``{name: layer folder}``."""
    return {name: build(LAYER_SPECS[name], force=force) for name in names}


def lambda_runtime() -> Path:
    """What the Lambda Python runtime itself provides (boto3), for import checks; never deployed."""
    folder = LAYERS / "deps" / "build" / "lambda-runtime"
    if not (folder / "boto3").is_dir():
        version = "{}.{}".format(*TARGET_PYTHON)
        platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
        _run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
             "--target", str(folder), "--implementation", "cp", "--python-version", version, *platforms,
             "--only-binary=:all:", "boto3"]
        )  # fmt: skip
    return folder


# ------------------------------------------------------------------------------------------ template


#: YAML loader that keeps CloudFormation short-form tags as ``{"Fn::X": value}`` / ``{"Ref": x}``.
_CfnLoader: Any = type("_CfnLoader", (yaml.SafeLoader,), {})


def _cfn_tag(loader: Any, suffix: str, node: Any) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template, short-form intrinsic functions included."""
    data = yaml.load(path.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a template")
    return data


def function_layers(template: dict[str, Any], root: Path = ROOT) -> dict[str, list[Path]]:
    """For each function: its code folder followed by its layer folders (``ContentUri``), in order."""
    resources: dict[str, Any] = template["Resources"]
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    found: dict[str, list[Path]] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        folders = [root / props["CodeUri"]]
        for ref in [*global_layers, *props.get("Layers", [])]:
            layer_id = ref["Ref"] if isinstance(ref, dict) else ref
            folders.append(root / resources[layer_id]["Properties"]["ContentUri"])
        found[logical_id] = folders
    return found


def function_sizes(template: dict[str, Any], root: Path = ROOT) -> dict[str, dict[str, int]]:
    """For each function: bytes of its code and of each of its layers (keyed by folder, code first)."""
    sizes: dict[str, dict[str, int]] = {}
    for function, folders in function_layers(template, root).items():
        code, *layers = folders
        parts = {"code": tree_size(code)}
        parts.update({str(folder.relative_to(root)): tree_size(folder) for folder in layers})
        sizes[function] = parts
    return sizes


def _mib(size: int) -> str:
    return f"{size / 2**20:7.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    """Build the layers and print each layer's and each function's unzipped size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--force", action="store_true", help="rebuild even when the cache is current")
    parser.add_argument("--only", default=",".join(LAYER_SPECS), help="comma-separated layers to build")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="template to measure functions of")
    args = parser.parse_args(argv)
    try:
        built = build_all([n for n in args.only.split(",") if n], force=args.force)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, content in built.items():
        folders = sorted(content.iterdir()) if name == "deps" else [content]
        for part in folders:
            print(
                f"layer {name + ('/' + part.name if part != content else ''):<14} {_mib(tree_size(part))}  "
                f"{part.relative_to(ROOT)}"
            )
    if args.template.is_file():
        over = False
        for function, parts in function_sizes(load_template(args.template)).items():
            total = sum(parts.values())
            over |= total > LAMBDA_UNZIPPED_LIMIT
            detail = ", ".join(f"{k} {v / 2**20:.1f}" for k, v in parts.items())
            print(f"function {function:<22} {_mib(total)}  ({detail} MiB)")
        if over:
            print(f"error: a function exceeds {_mib(LAMBDA_UNZIPPED_LIMIT)} unzipped", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
