"""One error family for the whole platform, with stable codes, mapped to a response in one place.

Services raise `ApplicationError(code, message)`; the API answers JSON `{"error": {"code", "message"}}`,
pages answer a friendly page in the user's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


class ApplicationError(Exception):
    """A failure the user can understand; `code` is stable (`area.reason`), `message` is translated."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, extra: dict[str, Any] | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.extra = extra or {}
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": str(self.message), **self.extra}}


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_response(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    if is_api_request(request):
        return JsonResponse(error.as_dict(), status=error.status, json_dumps_params={"ensure_ascii": False})
    return render(request, "error.html", {"error": error}, status=error.status)


class ApplicationErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            return error_response(request, exception)
        return None
