"""SMS texts: the built-in templates every bank starts with, rendering of `${name}` placeholders,
and the length and segment count a provider will bill."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from platform.errors import ApplicationError

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    signature: str
    text: str
    provider_template_code: str = ""


# the texts a bank gets before it writes its own (keys used by campaigns, H5 and fulfilment)
DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {
    "otp": ("验证码", "您的验证码为${code}，${expiry}分钟内有效，请勿告诉他人。"),
    "code_delivery": (
        "兑换码下发",
        "您获得${right_name}，兑换码${code}，点击 ${link} 领取，${expiry}前有效。拒收请回复R",
    ),
    "arrival": ("到账提示", "您兑换的${right_name}已到账。${arrival_text}"),
    "failure_notice": ("失败通知", "很抱歉，您兑换的${right_name}未能到账，${arrival_text}"),
    "resend": ("补发", "您的兑换码${code}，点击 ${link} 领取，${expiry}前有效。"),
}


def placeholders(text: str) -> list[str]:
    return sorted(set(PLACEHOLDER.findall(text)))


def text_render(*, spec: TemplateSpec, params: dict[str, str]) -> str:
    missing = [name for name in placeholders(spec.text) if name not in params]
    if missing:
        raise ApplicationError("sms.params_missing", _("短信模板缺少参数：%(names)s") % {"names": ", ".join(missing)})
    body = PLACEHOLDER.sub(lambda match: str(params[match.group(1)]), spec.text)
    return f"【{spec.signature}】{body}"


def text_segments(text: str) -> tuple[int, int]:
    """(length, segments) as carriers count them: GSM-7 160/153, otherwise (Chinese) 70/67."""
    length = len(text)
    if all(ch in GSM7 for ch in text):
        single, part = 160, 153
    else:
        single, part = 70, 67
    if length <= single:
        return length, 1
    return length, -(-length // part)
