"""``POST /v1/authorize`` as a plain Starlette endpoint: the decision point's hot path over HTTP.

The FastAPI route in ``soar.api.routers.tokens`` documents the endpoint (OpenAPI) and gives the same answers,
but FastAPI's per-request machinery (dependency resolution, its exit stack, body and response-model handling)
measured ~200 µs of CPU per call on the 2-core machine, against ~33 µs for the decision itself. This endpoint,
registered in front of it, parses the body with the same pydantic model and serialises the same
``Decision``: ~90-110 µs per call in total (docs/identity.md, "Benchmark"). Nothing is cached that the
FastAPI route does not cache: the ``Authorizer`` reads revocation and quarantine on every call.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from soar.api.schemas import AuthorizeIn
from soar.identity.credentials import Decision, authorize

PATH = "/v1/authorize"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body, default=str), status_code=status, media_type="application/json")


async def authorize_endpoint(request: Request) -> Response:
    """Allow or deny one tool call: 200 with the ``Decision``; 422 for a body that is not an ``AuthorizeIn``."""
    try:
        body = AuthorizeIn.model_validate_json(await request.body())
    except ValidationError as e:  # FastAPI's shape: {"detail": [{"loc": ["body", ...], "msg", "type"}]}
        errors = [{**err, "loc": ["body", *err["loc"]]} for err in e.errors(include_url=False, include_context=False)]
        return _json({"detail": errors}, 422)
    state = request.app.state.soar
    decision: Decision
    if state.authorizer is not None:
        decision = await state.authorizer.authorize(body.token, body.tool, body.resource, body.action)
    else:
        async with state.sessionmaker() as session:
            decision = await authorize(
                session, body.token, body.tool, body.resource, body.action, key=state.signing_key
            )  # fmt: skip
    return Response(decision.model_dump_json(), media_type="application/json")


def authorize_route() -> Route:
    """The route to put in front of the app's routes (``app.router.routes.insert(0, authorize_route())``)."""
    return Route(PATH, authorize_endpoint, methods=["POST"], include_in_schema=False)
