"""Stripe's error responses: `{"error": {"type", "message", "code"?, "param"?, "doc_url"?}}`.

stripe-python picks the exception class from the status (400/404 InvalidRequestError, 401
AuthenticationError, …) and reads `param` and `code`, so both are set the way Stripe does.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from devstack.stripe.ids import request_id

_DOCS = "https://docs.stripe.com/error-codes"


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type_: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"{_DOCS}#{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def bad_param(param: str, message: str, code: str = "parameter_invalid") -> StripeError:
    return StripeError(400, message, param=param, code=code)


def missing_param(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", param=param, code="resource_missing")


async def stripe_error_response(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StripeError)
    return JSONResponse(
        error.body(), status_code=error.status, headers={"Request-Id": request_id()}
    )
