"""Which t-SNE implementation runs: openTSNE on the CPU, or the PyTorch one on a CUDA GPU, chosen at run time.

``GRIDTSNE_TSNE_BACKEND`` (or :attr:`gridtsne.core.reduce.ReduceParams.backend`) says which:

- ``auto`` (default): ``pytorch`` when PyTorch sees a CUDA device, openTSNE otherwise;
- ``opentsne``: always openTSNE;
- ``pytorch``: always :mod:`gridtsne.core.tsne_fft` (openTSNE's method in PyTorch), on the GPU when there
  is one and on the CPU otherwise; :class:`BackendUnavailableError` when PyTorch does not import;
- ``torchdr``: always TorchDR's sampled ``InfoTSNE`` (:mod:`gridtsne.core.tsne_torchdr`), for
  comparisons: its maps score below openTSNE's (measured in :class:`~gridtsne.core.tsne_fft.FftSettings`);
  :class:`BackendUnavailableError` when PyTorch or TorchDR does not import.

PyTorch is imported only where an NVIDIA device exists and PyTorch is installed: the Lambdas and the
command line on a machine without a GPU choose openTSNE without importing it (seconds and hundreds of MB),
even where it is installed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

#: Environment variable that forces a backend.
BACKEND_ENV = "GRIDTSNE_TSNE_BACKEND"
#: The values it takes.
BACKENDS = ("auto", "opentsne", "pytorch", "torchdr")
OPENTSNE = "opentsne"
PYTORCH = "pytorch"
TORCHDR = "torchdr"


class BackendUnavailableError(RuntimeError):
    """The backend asked for cannot run here."""


def requested(backend: str | None = None) -> str:
    """``backend``, else ``GRIDTSNE_TSNE_BACKEND``, else ``auto``; checked against :data:`BACKENDS`."""
    name = (backend or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"unknown t-SNE backend {name!r} (from {BACKEND_ENV}?); expected one of {BACKENDS}")
    return name


def missing(backend: str) -> str | None:
    """Why ``backend`` (``pytorch`` or ``torchdr``) cannot run here, or None when it can."""
    try:
        import torch  # noqa: F401

        if backend == TORCHDR:
            import torchdr  # noqa: F401
    except ImportError as error:  # a missing package, or one of its own imports failing
        return f"it does not import ({error})"
    return None


def installed(package: str) -> bool:
    """True when ``package`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(package) is not None
    except ValueError:  # already imported, without a spec
        return sys.modules.get(package) is not None


def nvidia_device() -> bool:
    """True when the machine has an NVIDIA device node (``/dev/nvidia0``…), checked before PyTorch is."""
    return any(Path("/dev").glob("nvidia[0-9]*"))


def cuda_available() -> bool:
    """True when PyTorch is installed and sees a CUDA device (False without PyTorch)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def choose(backend: str | None = None) -> str:
    """The backend that will run: :data:`OPENTSNE`, :data:`PYTORCH` or :data:`TORCHDR`.

    Parameters
    ----------
    backend
        ``auto``, ``opentsne``, ``pytorch`` or ``torchdr``; None reads ``GRIDTSNE_TSNE_BACKEND`` (default
        ``auto``).

    Raises
    ------
    BackendUnavailableError
        When ``pytorch`` or ``torchdr`` is asked for and what it needs is not installed.
    ValueError
        For any other name.
    """
    name = requested(backend)
    if name == OPENTSNE:
        return OPENTSNE
    if name in (PYTORCH, TORCHDR):
        why = missing(name)
        if why:
            needs = "PyTorch" if name == PYTORCH else "torchdr and PyTorch"
            raise BackendUnavailableError(
                f"t-SNE backend {name!r} was asked for but {why}; install {needs}, or set {BACKEND_ENV}=auto"
            )
        return name
    if not (installed("torch") and nvidia_device()):
        return OPENTSNE
    return PYTORCH if cuda_available() else OPENTSNE
