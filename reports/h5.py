"""Counting "H5 opened": the SMS link's page, once it has shown a code's phone step, records the
code in Redis (one push); the fold turns the pushes into rollup counts (decision 0500)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from reports.fold import h5_open_record


def counts_h5_opens(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap the SMS link view: a page that opened a code (200, the code in the H5 session) counts."""
    from h5_templates.views import SESSION_KEY

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            code_id = (request.session.get(SESSION_KEY) or {}).get("link_code_id")
            if isinstance(code_id, int):
                h5_open_record(code_id=code_id)
        return response

    return wrapper
