"""The quality suite's labelled image collections of different kinds, each built offline from a registry.

Every collection is written to ``samples/<name>/<label>/<file>`` with a ``.written`` marker, so a second
build is free. Registry packages are fetched once into ``samples/.cache/`` with the registry's ordinary
client (``pip download``, ``npm pack``, ``apt-get download``); nothing else is read from the network.
Subsets are chosen deterministically (sorted names, fixed strides or a fixed random seed).

======== ========================================= ======== ====== =========================================
name     source                                    images   labels sizes
======== ========================================= ======== ====== =========================================
digits   scikit-learn's bundled digits             1797     10     64 px squares (8×8 upscaled)
photos   scikit-image's bundled photographs        1980     12     96 px square patches
crops    scikit-image's bundled photographs        1200     12     longer side 48–512 px (short 21–491),
                                                                   aspect ratios 0.4–2.5, JPEG
icons    npm ``remixicon`` 4.9.1 (SVG, line style) 1539     19     96 px, transparent, rendered with CairoSVG
stamps   Debian ``tuxpaint-stamps-default``        1033     14     photo cut-outs and clip art, transparent,
         2022.06.04-1 (PNG and SVG)                                short side 7–917 px (median 145),
                                                                   aspect ratios 0.12–13.9
animals  PyPI ``animal-mnist`` 0.4                 1500     10     28 px greyscale silhouettes
======== ========================================= ======== ====== =========================================

``python -m gridtsne_dev.collections [--sets a,b] [--root samples]`` builds them; ``make bench`` does.
CairoSVG (``requirements/dev.txt``) renders the SVGs and needs the system's ``libcairo2``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from gridtsne_dev import samples

#: Registry packages, pinned.
REMIXICON = ("remixicon", "4.9.1")
TUXPAINT = ("tuxpaint-stamps-default", "2022.06.04-1")
ANIMAL_MNIST = ("animal-mnist", "0.4")

#: Smallest category kept in the stamps set; smaller ones carry no reliable neighbourhood label.
MIN_STAMPS_PER_LABEL = 12
#: Longest side of a stamp rendered from SVG (PNG stamps keep their own size).
STAMP_SVG_SIDE = 360
#: Side of the rendered icons.
ICON_SIDE = 96
#: Animal silhouettes per class.
ANIMALS_PER_CLASS = 150


def _marker(dest: Path) -> Path:
    return dest / ".written"


def _count(dest: Path) -> int:
    return sum(1 for p in dest.glob("*/*") if p.is_file())


def _cache(root: Path) -> Path:
    folder = root / ".cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fetch_pypi(root: Path, name: str, version: str) -> Path:
    """The wheel of ``name==version`` under ``root/.cache`` (downloaded once with ``pip download``)."""
    cache = _cache(root)
    stem = name.replace("-", "_")
    found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"),
                *("--disable-pip-version-check", f"{name}=={version}", "-d", str(cache)),
            ],
            check=True,
        )
        found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
    return found[0]


def fetch_npm(root: Path, name: str, version: str) -> Path:
    """The tarball of npm package ``name@version`` under ``root/.cache`` (fetched once with ``npm pack``)."""
    cache = _cache(root)
    target = cache / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if not target.exists():
        subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=cache, check=True, stdout=-3)
    return target


def fetch_deb(root: Path, name: str, version: str) -> Path:
    """The Debian package ``name=version`` under ``root/.cache`` (fetched once with ``apt-get download``)."""
    cache = _cache(root)
    found = sorted(cache.glob(f"{name}_{version}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", "-qq", f"{name}={version}"], cwd=cache, check=True)
        found = sorted(cache.glob(f"{name}_{version}_*.deb"))
    return found[0]


def write_digits(dest: Path) -> int:
    """scikit-learn's 1,797 handwritten digits as 64 px PNGs, one folder per digit."""
    if not _marker(dest).exists():
        samples.write_digits(dest)
        _marker(dest).touch()
    return _count(dest)


def write_photos(dest: Path) -> int:
    """1,980 square 96 px patches of twelve scikit-image photographs (:mod:`gridtsne_dev.samples`)."""
    return samples.write_photo_patches(dest)


def write_crops(dest: Path, *, per_source: int = 100, seed: int = 1) -> int:
    """Rectangles of the twelve scikit-image photographs at their own sizes and aspect ratios.

    Each crop has a random aspect ratio (log-uniform between 0.4 and 2.5) and area, is scaled so that
    its longer side lies between 48 and 512 px, and is saved as a JPEG in a folder named after its source.
    ``per_source`` 25 gives a 300-picture set for quick checks.
    """
    marker = _marker(dest)
    if marker.exists():
        return _count(dest)
    import skimage.data

    rng = np.random.default_rng(seed)
    for name in samples.PHOTO_SOURCES:
        picture = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        width, height = picture.size
        folder = dest / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_source):
            aspect = float(np.exp(rng.uniform(np.log(0.4), np.log(2.5))))
            area = float(rng.uniform(0.02, 0.35)) * width * height
            w = int(min(width, max(16, np.sqrt(area * aspect))))
            h = int(min(height, max(16, np.sqrt(area / aspect))))
            left = int(rng.integers(0, width - w + 1))
            top = int(rng.integers(0, height - h + 1))
            crop = picture.crop((left, top, left + w, top + h))
            longest = int(rng.integers(48, 513))
            scale = longest / max(w, h)
            crop = crop.resize((max(8, round(w * scale)), max(8, round(h * scale))), Image.Resampling.BICUBIC)
            crop.save(folder / f"{index:03d}.jpg", quality=90)
    marker.touch()
    return _count(dest)


def _render_svg(svg: bytes, *, width: int | None = None, height: int | None = None) -> Image.Image:
    import cairosvg

    png = cairosvg.svg2png(bytestring=svg, output_width=width, output_height=height)
    assert isinstance(png, bytes)
    return Image.open(io.BytesIO(png))


def write_icons(dest: Path, root: Path) -> int:
    """The line-style icons of npm ``remixicon`` rendered to transparent 96 px PNGs; label = category."""
    marker = _marker(dest)
    if marker.exists():
        return _count(dest)
    tarball = fetch_npm(root, *REMIXICON)
    with tarfile.open(tarball) as archive:
        members = sorted(
            (m for m in archive.getmembers() if m.name.startswith("package/icons/") and m.isfile()),
            key=lambda m: m.name,
        )
        for member in members:
            parts = member.name.split("/")
            if len(parts) != 4 or not parts[3].endswith("-line.svg"):
                continue
            label = parts[2].replace(" & ", "-").replace(" ", "-").lower()
            handle = archive.extractfile(member)
            assert handle is not None
            image = _render_svg(handle.read(), width=ICON_SIDE, height=ICON_SIDE)
            folder = dest / label
            folder.mkdir(parents=True, exist_ok=True)
            image.save(folder / parts[3].replace(".svg", ".png"))
    marker.touch()
    return _count(dest)


def write_stamps(dest: Path, root: Path) -> int:
    """Tux Paint's stamps (photo cut-outs as PNG, clip art as SVG) at their own sizes; label = top folder.

    PNGs are copied byte for byte (with their transparency and sizes); SVGs are rendered so that their
    longer side is ``STAMP_SVG_SIDE``. Categories with fewer than ``MIN_STAMPS_PER_LABEL`` images are left
    out. Stamps whose names repeat in one category (mirrored variants) are kept: they are different files.
    """
    marker = _marker(dest)
    if marker.exists():
        return _count(dest)
    deb = fetch_deb(root, *TUXPAINT)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        base = Path(tmp) / "usr/share/tuxpaint/stamps"
        files = sorted(p for p in base.rglob("*") if p.suffix.lower() in (".png", ".svg"))
        labels = Counter(p.relative_to(base).parts[0] for p in files)
        for path in files:
            rel = path.relative_to(base)
            label = rel.parts[0]
            if labels[label] < MIN_STAMPS_PER_LABEL:
                continue
            name = "_".join(rel.parts[1:]) if len(rel.parts) > 1 else rel.name
            folder = dest / label
            folder.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() == ".png":
                shutil.copyfile(path, folder / name)
                continue
            try:
                image = _render_svg(path.read_bytes())
            except Exception:  # a handful of clip-art files use SVG features CairoSVG lacks
                continue
            scale = STAMP_SVG_SIDE / max(image.size)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = _render_svg(path.read_bytes(), width=size[0], height=size[1])
            image.save(folder / (Path(name).stem + ".svg.png"))
    marker.touch()
    return _count(dest)


def write_animals(dest: Path, root: Path, *, per_class: int = ANIMALS_PER_CLASS, seed: int = 0) -> int:
    """PyPI ``animal-mnist``'s 28 px animal silhouettes, ``per_class`` of each of the ten classes."""
    marker = _marker(dest)
    if marker.exists():
        return _count(dest)
    import zipfile

    wheel = fetch_pypi(root, *ANIMAL_MNIST)
    with zipfile.ZipFile(wheel) as archive:
        folder = "animal_mnist/data/Animal_MNIST/"
        # The package ships NumPy arrays pickled; the wheel is a pinned registry artefact.
        data = pickle.loads(gzip.decompress(archive.read(folder + "animal_data_version_3.gz")))
        labels = pickle.loads(gzip.decompress(archive.read(folder + "animal_label_version_3.gz")))
    data, labels = np.asarray(data, dtype=np.uint8), np.asarray(labels)
    rng = np.random.default_rng(seed)
    for label in np.unique(labels):
        chosen = np.sort(rng.choice(np.flatnonzero(labels == label), per_class, replace=False))
        out = dest / f"class{int(label)}"
        out.mkdir(parents=True, exist_ok=True)
        for index in chosen:
            Image.fromarray(data[index], "L").save(out / f"{int(index):05d}.png")
    marker.touch()
    return _count(dest)


#: Every collection of the suite, by name: a function of (destination, samples root) -> image count.
BUILDERS: dict[str, Callable[[Path, Path], int]] = {
    "digits": lambda dest, root: write_digits(dest),
    "photos": lambda dest, root: write_photos(dest),
    "crops": lambda dest, root: write_crops(dest),
    "icons": write_icons,
    "stamps": write_stamps,
    "animals": write_animals,
}


def build(names: list[str] | None = None, root: Path = Path("samples")) -> dict[str, Path]:
    """Build the named collections (all by default) under ``root``; return their folders."""
    folders: dict[str, Path] = {}
    for name in names or list(BUILDERS):
        dest = root / name
        BUILDERS[name](dest, root)
        folders[name] = dest
    return folders


def describe(folder: Path) -> str:
    """One line on a built collection: images, labels, size and aspect-ratio range."""
    files = sorted(p for p in folder.glob("*/*") if p.is_file())
    sizes = np.array([Image.open(p).size for p in files], dtype=np.float64)
    labels = {p.parent.name for p in files}
    aspect = sizes[:, 0] / sizes[:, 1]
    short = sizes.min(axis=1)
    return (
        f"{folder.name}: {len(files)} images, {len(labels)} labels, short side "
        f"{short.min():.0f}-{np.median(short):.0f}-{short.max():.0f} px (min-median-max), "
        f"aspect {aspect.min():.2f}-{aspect.max():.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    """Build the collections named on the command line and describe them."""
    parser = argparse.ArgumentParser(prog="python -m gridtsne_dev.collections", description=__doc__)
    parser.add_argument("--sets", default=",".join(BUILDERS), help="comma-separated collection names")
    parser.add_argument("--root", type=Path, default=Path("samples"))
    args = parser.parse_args(argv)
    for folder in build(args.sets.split(","), args.root).values():
        print(describe(folder), flush=True)


if __name__ == "__main__":
    main()
