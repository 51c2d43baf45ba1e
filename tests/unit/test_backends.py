"""The t-SNE backend is chosen at run time: openTSNE without a CUDA device, the PyTorch one with one; a
setting forces any of them (TorchDR too); what ran is recorded in the layout's params."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from gridtsne.core import backends
from gridtsne.core.backends import BACKEND_ENV, BackendUnavailableError, choose
from gridtsne.core.progress import ReduceProgress
from gridtsne.core.reduce import ReduceParams, reduce_recorded
from gridtsne.pipeline import Params, place, reduce_stage

QUICK = ReduceParams(perplexity=5, early_exaggeration_iter=50, n_iter=50, n_jobs=1)


def clusters(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 10, (3, d))[np.arange(n) % 3] + rng.normal(0, 1, (n, d))


@pytest.fixture(autouse=True)
def no_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKEND_ENV, raising=False)


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyTorch and TorchDR absent (as in the Lambdas): importing either fails."""
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "torchdr", None)


def fake_torch(monkeypatch: pytest.MonkeyPatch, *, cuda: bool) -> None:
    """A PyTorch whose only answer is whether it sees a CUDA device, on a machine with an NVIDIA device
    node exactly when it does."""
    torch = types.ModuleType("torch")
    torch.cuda = types.SimpleNamespace(is_available=lambda: cuda)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setattr(backends, "nvidia_device", lambda: cuda)


def fake_torchdr(monkeypatch: pytest.MonkeyPatch, *, importable: bool) -> None:
    monkeypatch.setitem(sys.modules, "torchdr", types.ModuleType("torchdr") if importable else None)


def test_without_torch_auto_chooses_opentsne(no_torch: None) -> None:
    assert not backends.cuda_available()
    assert choose() == "opentsne"
    assert choose("auto") == "opentsne"


def test_with_torch_but_no_cuda_device_auto_chooses_opentsne(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_torch(monkeypatch, cuda=False)
    fake_torchdr(monkeypatch, importable=True)
    assert choose() == "opentsne"


def test_without_an_nvidia_device_torch_is_not_even_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> bool:
        raise AssertionError("PyTorch was asked")

    torch = types.ModuleType("torch")
    torch.cuda = types.SimpleNamespace(is_available=refuse)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", torch)
    fake_torchdr(monkeypatch, importable=True)
    monkeypatch.setattr(backends, "nvidia_device", lambda: False)
    assert choose() == "opentsne"


def test_torch_that_sees_no_device_despite_the_node_means_opentsne(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_torch(monkeypatch, cuda=False)
    fake_torchdr(monkeypatch, importable=True)
    monkeypatch.setattr(backends, "nvidia_device", lambda: True)
    assert choose() == "opentsne"


def test_a_cuda_device_chooses_pytorch_with_or_without_torchdr(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_torch(monkeypatch, cuda=True)
    fake_torchdr(monkeypatch, importable=True)
    assert choose() == "pytorch"
    fake_torchdr(monkeypatch, importable=False)
    assert choose() == "pytorch"


def test_the_setting_forces_opentsne_even_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_torch(monkeypatch, cuda=True)
    fake_torchdr(monkeypatch, importable=True)
    monkeypatch.setenv(BACKEND_ENV, "openTSNE")
    assert choose() == "opentsne"
    assert choose("auto") == "pytorch"  # the parameter wins over the environment


def test_the_setting_forces_torchdr_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_torch(monkeypatch, cuda=False)
    fake_torchdr(monkeypatch, importable=True)
    monkeypatch.setenv(BACKEND_ENV, "torchdr")
    assert choose() == "torchdr"


def test_the_setting_forces_pytorch_without_a_gpu_and_without_torchdr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_torch(monkeypatch, cuda=False)
    fake_torchdr(monkeypatch, importable=False)
    monkeypatch.setenv(BACKEND_ENV, "PyTorch")
    assert choose() == "pytorch"
    with pytest.raises(BackendUnavailableError, match="'torchdr' was asked for but it does not import"):
        choose("torchdr")


@pytest.mark.parametrize("backend", ["pytorch", "torchdr"])
def test_a_forced_backend_that_cannot_import_is_a_clear_error(
    backend: str, no_torch: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BACKEND_ENV, backend)
    with pytest.raises(BackendUnavailableError, match=f"'{backend}' was asked for but it does not import"):
        choose()
    with pytest.raises(BackendUnavailableError):
        reduce_recorded(clusters(30), QUICK)


def test_an_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKEND_ENV, "cuml")
    with pytest.raises(ValueError, match="unknown t-SNE backend 'cuml'"):
        choose()


def test_without_a_gpu_the_reduction_runs_opentsne_and_says_so(no_torch: None) -> None:
    seen: list[ReduceProgress] = []
    reduced = reduce_recorded(clusters(60), QUICK, progress=seen.append)
    assert reduced.points.shape == (60, 2)
    assert reduced.method["backend"] == "opentsne"
    assert reduced.method["version"]
    assert "optimize" in {p.phase for p in seen} and seen[-1].done == seen[-1].total


def test_small_sets_record_that_no_tsne_ran(no_torch: None) -> None:
    assert reduce_recorded(np.ones((1, 4)), QUICK).method == {"backend": "none"}
    assert reduce_recorded(clusters(3), QUICK).method == {"backend": "pca"}


def test_the_backend_that_ran_is_in_the_layout_params(no_torch: None) -> None:
    vectors = clusters(40)
    params = Params(reduce=QUICK)
    reduced = reduce_stage(vectors, params)
    layout = place(
        [f"{i}.png" for i in range(40)],
        reduced.points,
        params,
        vectors=vectors,
        extra_params={"tsne": reduced.method},
    )
    assert layout.params["tsne"]["backend"] == "opentsne"
    assert layout.params["backend"] is None  # what was asked for: nothing, so the setting decided
