"""Lambda, in-process: the real handlers answer the emulator's ``lambda.Invoke`` calls.

moto would need Docker to run a function. Instead :class:`LambdaShim` is a botocore
``before-send.lambda.Invoke`` handler: :meth:`LambdaShim.install` inserts it at the front of
``botocore.handlers.BUILTIN_HANDLERS`` (before any client is made), and it answers an invoke of a registered
function with the handler's result as the Invoke response; an exception becomes a function error
(``X-Amz-Function-Error``), as in Lambda. Handlers are ``functions/<name>/app.py`` loaded by path
(:func:`load_handler`), called with a :class:`Context`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import unquote

from gridtsne_dev.intrinsics import ACCOUNT, REGION, STACK_NAME

T = TypeVar("T")

__all__ = ["Context", "Handler", "LambdaShim", "load_handler", "load_module"]

Handler = Callable[[dict[str, Any], Any], Any]
_HOOK = "before-send.lambda.Invoke"


def load_module(path: Path, name: str) -> ModuleType:
    """Import a Python file (a handler, a job script) under the module name ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_handler(path: Path, name: str) -> Handler:
    """``lambda_handler`` of the file at ``path``, dropping Powertools' metrics after each call.

    With metrics disabled Powertools keeps them in memory and prints them once a hundred pile up.
    """
    module = load_module(path, name)
    handler: Handler = module.lambda_handler

    def call(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            metrics = getattr(module, "metrics", None)
            if metrics is not None:
                metrics.clear_metrics()

    return call


@dataclass
class Context:
    """The parts of the Lambda context object the handlers (and Powertools) read."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        """The function's ARN."""
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """The function's log group."""
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """Always Lambda's longest timeout, 15 minutes."""
        return 900_000


class LambdaShim:
    """Answers ``lambda.Invoke`` calls in-process with registered handlers.

    ``faults`` lets tests make a function raise: ``faults[name] = exception`` (every call) or a list of
    exceptions consumed one per call. ``calls`` records the short name of every invocation.
    """

    def __init__(self, prefix: str = f"{STACK_NAME}-") -> None:
        self.prefix = prefix
        self.handlers: dict[str, Handler] = {}
        self.calls: list[str] = []
        self.faults: dict[str, BaseException | list[BaseException]] = {}
        self._lock = threading.Lock()

    def register(self, name: str, handler: Handler) -> None:
        """Answer invocations of ``<prefix><name>`` (by name or ARN) with ``handler``."""
        self.handlers[name] = handler

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Call the handler of ``name`` as Lambda would (exceptions propagate)."""
        with self._lock:
            self.calls.append(name)
            fault = self.faults.get(name)
            if isinstance(fault, list):
                fault = fault.pop(0) if fault else None
        if fault is not None:
            raise fault
        return self.handlers[name](event, Context(self.prefix + name))

    def install(self) -> None:
        """Answer invokes from every botocore client made from now on."""
        import botocore.handlers

        botocore.handlers.BUILTIN_HANDLERS.insert(0, (_HOOK, self))

    def uninstall(self) -> None:
        """Stop answering invokes (for clients made afterwards)."""
        import botocore.handlers

        if (_HOOK, self) in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.remove((_HOOK, self))

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        """The botocore ``before-send.lambda.Invoke`` handler: the response, or None if not ours."""
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders
        from moto.core.botocore_stubber import MockRawResponse

        path = unquote(request.url.split("/functions/", 1)[1].split("/", 1)[0])
        name = path.split(":function:", 1)[-1].split(":", 1)[0].removeprefix(self.prefix)
        if name not in self.handlers:
            return None  # not ours: let the emulator answer
        body = request.body or b"{}"
        event = json.loads(body.decode() if isinstance(body, bytes) else body)
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/json"
        headers["X-Amz-Executed-Version"] = "$LATEST"
        try:
            payload = self.invoke(name, event)
        except Exception as exc:
            headers["X-Amz-Function-Error"] = "Unhandled"
            payload = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}
        raw = MockRawResponse(json.dumps(payload, default=str).encode())
        return AWSResponse(request.url, 200, headers, raw)


def read_again(read: Callable[[], T], attempts: int = 5) -> T:
    """``read()``, tried again when it races a write from another thread: moto's in-memory tables are not
    thread-safe, and reading a job record while an execution's thread updates it can raise
    ``RuntimeError: dictionary changed size during iteration``."""
    for attempt in range(attempts):
        try:
            return read()
        except RuntimeError as error:
            if "changed size during iteration" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("attempts must be at least 1")
