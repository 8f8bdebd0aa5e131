"""Error bodies shaped like the real API's (application/problem+json)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

PROBLEM = "application/problem+json"
NOT_FOUND_DETAIL = "The requested resource could not be found."


class ApiError(Exception):
    def __init__(self, status: int, detail: str, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.title:
            body["title"] = self.title
        body["detail"] = self.detail
        body["status"] = self.status
        body.update(self.extra)
        return body

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, media_type=PROBLEM, headers=self.headers)


def not_found(detail: str = NOT_FOUND_DETAIL) -> ApiError:
    return ApiError(404, detail)


def unauthenticated() -> ApiError:
    return ApiError(401, "You did not pass a valid authentication token", "Unauthenticated")


def invalid_version() -> ApiError:
    return ApiError(
        422,
        "The specified version does not exist (or perhaps you don't have permission to use it?)",
        "Invalid version or not permitted",
    )


def input_validation_failed(invalid_fields: list[dict]) -> ApiError:
    detail = "".join(f"- {f['field']}: {f['description']}\n" for f in invalid_fields)
    return ApiError(422, detail, "Input validation failed", invalid_fields=invalid_fields)


def bad_request(detail: str, title: str = "Bad request") -> ApiError:
    return ApiError(400, detail, title)


def throttled(retry_after: int) -> ApiError:
    err = ApiError(
        429, f"Request was throttled. Your rate limit resets in ~{retry_after}s.", retry_after=retry_after
    )
    err.headers["Retry-After"] = str(retry_after)
    return err
