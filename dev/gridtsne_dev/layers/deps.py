"""The third-party runtime: installed for the Lambda platform, trimmed, split into three layers.

``layers/deps/requirements.txt`` is resolved once and installed with ``pip install --target --platform ...
--only-binary=:all:`` (wheels only, for CPython 3.12 on manylinux x86_64 up to glibc 2.34, the Amazon Linux
2023 image of the ``python3.12`` runtime), then split by distribution so that no function carries what it
never imports (all together they are over Lambda's 250 MB): ``DepsLayer`` (NumPy, Pillow, pydantic,
Powertools: every function), ``OnnxRuntimeLayer`` (embedding) and ``ScienceLayer`` (SciPy, lap, scikit-learn,
openTSNE: reduction and quality metrics). The groups are named after the template's layer resources.

Why ``python3.12`` and not ``python3.11``: the 3.11 runtime runs on Amazon Linux 2 (glibc 2.26), and ONNX
Runtime has published no wheel for glibc < 2.27 since 1.16 (which predates NumPy 2). Only manylinux wheels
are installed, and a manylinux tag bounds the glibc symbol versions a wheel may use, so the platform list
below is the whole compatibility check.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gridtsne_dev.layers.trim import trim

__all__ = [
    "BASE_GROUP",
    "ROOT_GROUPS",
    "BuildError",
    "build_deps",
    "distributions",
    "group_distributions",
    "install_for_lambda",
    "read_requirements",
]

#: The Lambda runtime the layers are built for.
TARGET_PYTHON = "3.12"
#: Wheels the python3.12 image (Amazon Linux 2023, glibc 2.34) loads: every manylinux tag up to its glibc.
PLATFORMS = (*(f"manylinux_2_{minor}_x86_64" for minor in range(34, 16, -1)), "manylinux2014_x86_64")
#: The environment the Lambda interpreter evaluates requirement markers in.
TARGET_MARKERS = {
    "python_version": TARGET_PYTHON,
    "python_full_version": f"{TARGET_PYTHON}.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}
#: Layer of each top-level requirement (and of what only it pulls in); the rest go to :data:`BASE_GROUP`.
ROOT_GROUPS = {
    "onnxruntime": "OnnxRuntimeLayer",
    "scipy": "ScienceLayer",
    "lap": "ScienceLayer",
    "scikit-learn": "ScienceLayer",
    "opentsne": "ScienceLayer",
}
#: The layer every function has.
BASE_GROUP = "DepsLayer"
#: What the Lambda Python runtime already provides (boto3 and what it pulls in): installed only because
#: something requires it (the X-Ray SDK requires botocore, 30 MiB), never deployed.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "urllib3", "python-dateutil", "six"})
RUNTIME_GROUP = "lambda-runtime"


class BuildError(RuntimeError):
    """A layer could not be built as the Lambda platform needs it."""


def install_for_lambda(target: Path, *requirements: str) -> None:
    """``pip install`` wheels for the Lambda platform into ``target``.

    Parameters
    ----------
    target
        The folder to install into (``pip install --target``).
    *requirements
        Arguments naming what to install (``-r file`` or requirement specifiers).
    """
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target), "--implementation", "cp", "--python-version", TARGET_PYTHON, *platforms,
        "--only-binary=:all:", *requirements,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def read_requirements(path: Path) -> list[Requirement]:
    """The requirements of a requirements file (comments and blank lines skipped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def _metadata(info: Path) -> list[tuple[str, str]]:
    parsed = Parser().parsestr((info / "METADATA").read_text(errors="replace"), headersonly=True)
    return list(parsed.items())


def distributions(site: Path) -> dict[str, Path]:
    """``{canonical name: .dist-info folder}`` of the distributions installed in ``site``."""
    found: dict[str, Path] = {}
    for info in site.glob("*.dist-info"):
        name = next(value for key, value in _metadata(info) if key == "Name")
        found[canonicalize_name(name)] = info
    return found


def _requires(info: Path) -> list[str]:
    """Canonical names a distribution needs on the Lambda platform (extras and foreign markers dropped)."""
    needed: list[str] = []
    for key, value in _metadata(info):
        if key == "Requires-Dist":
            requirement = Requirement(value)
            if requirement.marker is None or requirement.marker.evaluate(TARGET_MARKERS):
                needed.append(canonicalize_name(requirement.name))
    return needed


def group_distributions(site: Path, roots: dict[str, str]) -> dict[str, str]:
    """Assign every distribution in ``site`` to a layer group.

    Parameters
    ----------
    site
        The installed distributions.
    roots
        Top-level requirement names and their groups.

    Returns
    -------
    dict
        ``{canonical name: group}``. A distribution reached only from one group's roots joins that group; one
        reached from several groups (or none) joins :data:`BASE_GROUP`; what the Lambda runtime provides joins
        :data:`RUNTIME_GROUP` (not deployed).
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
            stack.extend(_requires(infos[name]))
    grouped = {name: groups.pop() if len(groups) == 1 else BASE_GROUP for name, groups in reached.items()}
    return {name: RUNTIME_GROUP if name in RUNTIME_PROVIDED else group for name, group in grouped.items()}


def _split_site(site: Path, dest: Path, groups: dict[str, str]) -> None:
    """Move each distribution's files (per its RECORD) from ``site`` to ``dest/<group>/python``.

    Files that no RECORD lists go to :data:`BASE_GROUP`.
    """
    for name, info in distributions(site).items():
        target = dest / groups[name] / "python"
        for row in csv.reader(io.StringIO((info / "RECORD").read_text())):
            source = (site / row[0]).resolve() if row else None
            if source is None or not source.is_file() or site.resolve() not in source.parents:
                continue
            moved = target / source.relative_to(site.resolve())
            moved.parent.mkdir(parents=True, exist_ok=True)
            source.rename(moved)
        shutil.copytree(info, target / info.name, dirs_exist_ok=True)
        shutil.rmtree(info)
    for leftover in sorted(p for p in site.rglob("*") if p.is_file()):
        moved = dest / BASE_GROUP / "python" / leftover.relative_to(site)
        moved.parent.mkdir(parents=True, exist_ok=True)
        leftover.rename(moved)
    shutil.rmtree(site)


def build_deps(requirements: Path, dest: Path) -> None:
    """Install ``requirements`` for the Lambda platform, trim it, split it into ``dest/<layer>/python``."""
    site = dest / "staging"
    install_for_lambda(site, "-r", str(requirements))
    trim(site)
    names = [canonicalize_name(r.name) for r in read_requirements(requirements)]
    _split_site(site, dest, group_distributions(site, {n: ROOT_GROUPS.get(n, BASE_GROUP) for n in names}))
    shutil.rmtree(dest / RUNTIME_GROUP, ignore_errors=True)
