"""``python -m gridtsne_dev.layers``: build a layer for ``sam build``, or build all and print their sizes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gridtsne_dev.layers.build import LAYERS, build_layer, copy_layer
from gridtsne_dev.layers.deps import BuildError
from gridtsne_dev.layers.sizes import LAMBDA_UNZIPPED_LIMIT, function_sizes, tree_size
from gridtsne_dev.template import load_template


def _mib(size: int) -> str:
    return f"{size / 2**20:6.1f} MiB"


def sizes(force: bool = False) -> bool:
    """Build every layer, print its size and each function's; False when a function is over the limit."""
    built = {logical_id: build_layer(logical_id, force=force) for logical_id in LAYERS}
    for logical_id, folder in built.items():
        print(f"layer    {logical_id:<18} {_mib(tree_size(folder))}")
    fits = True
    for function, parts in function_sizes(load_template(), built).items():
        total = sum(parts.values())
        fits &= total <= LAMBDA_UNZIPPED_LIMIT
        detail = ", ".join(f"{part} {size / 2**20:.1f}" for part, size in parts.items())
        print(f"function {function:<18} {_mib(total)}  ({detail})")
    return fits


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m gridtsne_dev.layers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build one layer into a folder (what `sam build` runs)")
    build.add_argument("layer", choices=sorted(LAYERS), help="the layer's logical id in template.yaml")
    build.add_argument("out", type=Path, help="the folder to fill (sam build's $ARTIFACTS_DIR)")
    measure = commands.add_parser("sizes", help="build every layer; print layer and function sizes")
    measure.add_argument("--force", action="store_true", help="rebuild even when the cache is current")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            copy_layer(args.layer, args.out)
        elif not sizes(force=args.force):
            print(f"error: a function is over {_mib(LAMBDA_UNZIPPED_LIMIT)} unzipped", file=sys.stderr)
            return 1
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
