"""The API reads any body without failing: malformed ones answer 4xx with a message, never a 5xx.

The property-based test needs ``hypothesis`` (requirements/dev.txt).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from gridtsne_dev.events import api_event
from gridtsne_dev.stack import EmbeddedStack

from tests.unit.serverless import png, put

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

#: Generated bodies the fuzz test sends.
EXAMPLES = 1200


def post(stack: EmbeddedStack, body: Any) -> tuple[int, dict]:
    text = body if isinstance(body, str) else json.dumps(body)
    response = stack.shim.invoke("api", api_event("POST", "/v2/visualizations", text))
    return int(response["statusCode"]), json.loads(response["body"])


@pytest.fixture(scope="module", autouse=True)
def three(stack: EmbeddedStack) -> None:
    """A three-image collection."""
    for i in range(3):
        put(stack, f"uploads/three/{i}.png", png((80 * i, 50, 50)))


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ('{"collection": "three", "params": {"seed": ' + "7" * 5000 + "}}", 400, "not JSON"),
        ('{"collection": "three", "x": ' + "[" * 8000 + "]" * 8000 + "}", 400, "nested"),
        ({"collection": "three", "params": {"rows": True}}, 400, "rows"),
        ({"collection": "three", "params": {"tile": 64.0}}, 400, "tile"),
        ({"collection": "three", "params": {"seed": "1"}}, 400, "seed"),
        ({"collection": 3}, 400, "collection"),
        ({"collection": "three", "client_token": None}, 400, "client_token"),
        ({"collection": "three", "params": {"rows": 2048, "cols": 2048, "tile": 512}}, 400, "cells"),
        ({"collection": "three", "params": {"rows": 5, "cols": 5}}, 400, "cells"),
        ({"collection": "three", "params": {"rows": 1, "cols": 2}}, 400, "fewer than the 3 images"),
        (None, 400, "body"),
        ([], 400, "body"),
        ("just text", 400, "invalid request"),
        ('{"collection": "three", "pad": "' + "x" * 20_000 + '"}', 413, "over"),
    ],
)
def test_malformed_bodies_answer_4xx_with_a_message(
    stack: EmbeddedStack, body: Any, status: int, says: str
) -> None:
    answer, payload = post(stack, body)
    assert answer == status, payload
    assert says in payload["message"]


def test_a_grid_in_proportion_to_the_images_is_accepted(stack: EmbeddedStack) -> None:
    for params in ({"rows": 4, "cols": 4, "tile": 512}, {"rows": 3, "cols": 1}, {"perplexity": 2}):
        answer, payload = post(stack, {"collection": "three", "params": params})
        assert answer == 202, (params, payload)


def test_any_body_answers_without_a_server_error(stack: EmbeddedStack) -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    anything = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    )
    names = st.sampled_from(["rows", "cols", "tile", "perplexity", "seed", "background", "other"])
    near = st.fixed_dictionaries(
        {},
        optional={
            "rows": st.none() | st.integers(-1, 6),
            "cols": st.none() | st.integers(-1, 6),
            "tile": st.integers(0, 600),
            "perplexity": st.floats(0, 600, allow_nan=False) | st.integers(0, 600),
            "seed": st.integers(-1, 2**32),
            "background": st.sampled_from(["#00ff00", "#ABCDEF", "red", "#12345"]),
        },
    )
    params = near | st.dictionaries(names, anything | st.integers(-5, 5000), max_size=6)
    collections = st.sampled_from(["three", "three", "nothing", "", "../x", "a" * 200]) | anything
    shaped = st.fixed_dictionaries(
        {"collection": collections},
        optional={"params": params, "client_token": st.text(max_size=70) | anything, "extra": anything},
    )
    bodies = shaped | anything | st.text(max_size=50)
    seen = {"count": 0, "accepted": 0}

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(bodies)
    def check(body: Any) -> None:
        seen["count"] += 1
        status, payload = post(stack, body)
        assert status in (202, 400, 413), (body, status, payload)
        if status == 202:
            seen["accepted"] += 1
            assert payload["output"]["status"] in ("pending", "running", "succeeded", "failed")
        else:
            assert payload["message"]

    check()
    assert seen["count"] >= 1000
    print(f"fuzzed the API with {seen['count']} bodies, {seen['accepted']} accepted")
