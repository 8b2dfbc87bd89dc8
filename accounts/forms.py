from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.services import audit_record, client_ip
from platform import ratelimit

LOGIN_FAILURES_PER_IP = ratelimit.Limit("console-login-ip", max_count=20, window_s=600)
LOGIN_FAILURES_PER_USER = ratelimit.Limit("console-login-user", max_count=5, window_s=600)


class ConsoleLoginForm(AuthenticationForm):
    """Django's login form, with failed attempts bounded per address and per user name."""

    def clean(self) -> dict[str, Any]:
        ip = client_ip(self.request) or "-"
        username = (self.data.get("username") or "").strip().lower()
        if ratelimit.is_blocked(LOGIN_FAILURES_PER_IP, ip) or ratelimit.is_blocked(LOGIN_FAILURES_PER_USER, username):
            raise ValidationError(_("尝试次数过多，请 10 分钟后再试"), code="rate_limited")
        try:
            return super().clean()
        except ValidationError:
            ratelimit.hit(LOGIN_FAILURES_PER_IP, ip)
            ratelimit.hit(LOGIN_FAILURES_PER_USER, username)
            raise

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not getattr(user, "role", ""):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
        audit_record(action="console.login", actor=user, request=self.request)
