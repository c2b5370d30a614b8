"""Answers of the worker API's hot routes, serialised once by pydantic-core.

A route that returns a model lets FastAPI dump it to a dict, validate that dict against the
route's response_model and serialise it again with the standard json module: three passes
for one answer, on every claim, report and heartbeat. The model was built by our own code
from the database's row and is already valid, so the hot routes return it as JSON bytes
straight away; `response_model` stays on the route for the OpenAPI description.
(bench/orchestrator measures the worker API: `make bench-orchestrator`.)
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

JSON = "application/json"


def model_response(model: BaseModel) -> Response:
    """The model as a 200 `application/json` answer, serialised exactly once."""
    return Response(content=model.model_dump_json(), media_type=JSON)
