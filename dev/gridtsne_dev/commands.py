"""The development subcommands of ``gridtsne``, registered through the ``gridtsne.commands`` entry points."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

Commands = Any  # argparse's private _SubParsersAction


def local(commands: Commands) -> None:
    """Add ``gridtsne local``: the serverless application end to end on the embedded stack."""
    from gridtsne_dev import demo

    parser = commands.add_parser("local", help="run the serverless application on an embedded AWS emulator")
    demo.add_arguments(parser)
    parser.set_defaults(handler=demo.run_demo)


def samples(commands: Commands) -> None:
    """Add ``gridtsne samples digits DIR``: write the sample images."""
    parser = commands.add_parser("samples", help="write sample images")
    parser.add_argument("name", choices=["digits"], help="which sample set")
    parser.add_argument("dir", type=Path, help="folder to write to")
    parser.set_defaults(handler=_write_samples)


def _write_samples(args: argparse.Namespace) -> int:
    from gridtsne_dev.samples import write_digits

    paths = write_digits(args.dir)
    print(f"wrote {len(paths)} images to {args.dir}", file=sys.stderr)
    return 0
