"""Writes for users, API keys and the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, ApiScope, AuditEntry, User
from platform.errors import ApplicationError
from platform.tenancy import current_schema


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # behind our own load balancer the first X-Forwarded-For hop is the client
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if settings.PRODUCTION else ""
    return (forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR")) or None


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    actor_label: str = "",
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user  # type: ignore[assignment]
    label = actor_label or (actor.get_username() if actor is not None else "system")
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=label,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        before=before,
        after=after,
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:200] if request is not None else ""),
    )


def api_secret_derive(*, key_id: str, salt: str) -> str:
    """The signing secret of a key: only a holder of the platform pepper can recompute it."""
    material = f"apikey:{current_schema()}:{key_id}:{salt}".encode()
    return hmac.new(settings.API_KEY_PEPPER.encode(), material, hashlib.sha256).hexdigest()


def api_key_create(
    *, name: str, scopes: list[str], actor: User | None, request: HttpRequest | None = None, bank_slug: str
) -> tuple[ApiKey, str]:
    """Create a key; the secret is returned once and never shown again."""
    valid = set(ApiScope.values)
    if not name.strip():
        raise ApplicationError("api_key.name_required", _("请填写密钥名称"))
    if not scopes or not set(scopes) <= valid:
        raise ApplicationError("api_key.bad_scopes", _("请选择有效的权限"))
    key_id = f"qk_{bank_slug}_{secrets.token_hex(8)}"
    salt = secrets.token_hex(16)
    secret = api_secret_derive(key_id=key_id, salt=salt)
    key = ApiKey.objects.create(
        key_id=key_id,
        name=name.strip(),
        scopes=sorted(set(scopes)),
        salt=salt,
        secret_digest=hashlib.sha256(secret.encode()).hexdigest(),
        created_by=actor,
    )
    audit_record(
        action="api_key.create",
        actor=actor,
        target=key,
        after={"key_id": key_id, "scopes": key.scopes},
        request=request,
    )
    return key, secret


def api_key_revoke(*, key: ApiKey, actor: User | None, request: HttpRequest | None = None) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(action="api_key.revoke", actor=actor, target=key, request=request)
    return key


def staff_user_create(
    *, username: str, password: str, role: str, branch_code: str, actor: User, request: HttpRequest | None = None
) -> User:
    """A card-centre admin adds a colleague; the password must pass the validators."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from accounts.models import Role

    if actor.role != Role.ADMIN:
        raise ApplicationError("users.forbidden", _("只有管理员可以管理用户"), status=403)
    if role not in Role.values:
        raise ApplicationError("users.bad_role", _("角色无效"))
    if User.objects.filter(username=username).exists():
        raise ApplicationError("users.exists", _("用户名已存在"))
    try:
        validate_password(password)
    except ValidationError as error:
        raise ApplicationError("users.weak_password", "；".join(error.messages)) from error
    user = User.objects.create_user(username=username, password=password, role=role, branch_code=branch_code)
    audit_record(
        action="users.create",
        actor=actor,
        target=user,
        request=request,
        after={"username": username, "role": role, "branch": branch_code},
    )
    return user


def staff_user_set_active(*, user: User, active: bool, actor: User, request: HttpRequest | None = None) -> User:
    from accounts.models import Role

    if actor.role != Role.ADMIN:
        raise ApplicationError("users.forbidden", _("只有管理员可以管理用户"), status=403)
    if user.pk == actor.pk:
        raise ApplicationError("users.self", _("不能停用自己的账号"))
    before = user.is_active
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        action="users.activate" if active else "users.deactivate",
        actor=actor,
        target=user,
        request=request,
        before={"is_active": before},
        after={"is_active": active},
    )
    return user
