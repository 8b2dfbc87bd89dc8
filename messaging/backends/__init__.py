"""SMS provider backends, one module each, behind `messaging.backends.base.SmsBackend`."""

from __future__ import annotations

from django.utils.module_loading import import_string

from messaging.backends.base import SmsBackend

BACKENDS: dict[str, str] = {
    "console": "messaging.backends.console.ConsoleBackend",
    "test": "messaging.backends.test.TestBackend",
    "sns": "messaging.backends.sns.SnsBackend",
    "aliyun": "messaging.backends.aliyun.AliyunBackend",
}
BACKEND_LABELS = {"console": "控制台（开发）", "test": "测试（内存）", "sns": "AWS SNS", "aliyun": "阿里云短信"}


def backend_class(name: str) -> type[SmsBackend]:
    if name not in BACKENDS:
        raise KeyError(name)
    backend: type[SmsBackend] = import_string(BACKENDS[name])
    return backend
