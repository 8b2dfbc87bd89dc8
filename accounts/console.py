"""Access rules of the card-centre console: who may open which page."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from accounts.models import Role
from platform.errors import ApplicationError

ALL_ROLES = tuple(Role.values)
MANAGERS = (Role.ADMIN, Role.OPERATOR)


def console_view(
    *, roles: Iterable[str] = ALL_ROLES
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    allowed = frozenset(roles)

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), "/console/login/")
            if getattr(user, "role", "") not in allowed:
                raise ApplicationError("console.forbidden", _("您的角色无权进行此操作"), status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
