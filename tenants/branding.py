"""A bank's white-label branding: colours readable by everyone, and a logo that cannot carry script."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from platform.errors import ApplicationError
from tenants.models import Bank

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
SVG_ELEMENTS = {
    "svg",
    "g",
    "path",
    "circle",
    "rect",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "defs",
    "lineargradient",
    "radialgradient",
    "stop",
    "title",
    "desc",
}
BRANDING_FIELDS = ("brand_title", "color_primary", "color_on_primary", "color_accent", "logo_svg", "footer_text")


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: str, b: str) -> float:
    first, second = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (first + 0.05) / (second + 0.05)


def svg_check(svg: str) -> str:
    """The logo as given, if it is a plain drawing: no script, no event handlers, no outside links."""
    svg = svg.strip()
    if not svg:
        return ""
    if len(svg) > 20_000 or "<!" in svg:
        raise ApplicationError("branding.bad_logo", _("标志须为不超过 20KB 的 SVG，且不含 DOCTYPE"))
    try:
        root = ET.fromstring(svg)  # noqa: S314
    except ET.ParseError as error:
        raise ApplicationError("branding.bad_logo", _("标志不是有效的 SVG")) from error
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1].lower()
        if name not in SVG_ELEMENTS:
            raise ApplicationError("branding.bad_logo", _("标志含不允许的元素：%(name)s") % {"name": name})
        for attribute, value in element.attrib.items():
            attr = attribute.rsplit("}", 1)[-1].lower()
            if (
                attr.startswith("on")
                or "javascript:" in value.lower()
                or (attr == "href" and not value.startswith("#"))
            ):
                raise ApplicationError("branding.bad_logo", _("标志含不允许的属性：%(name)s") % {"name": attr})
    if root.tag.rsplit("}", 1)[-1].lower() != "svg":
        raise ApplicationError("branding.bad_logo", _("标志须为 SVG"))
    return svg


def bank_branding_update(*, bank: Bank, data: dict[str, str], actor: User | None) -> Bank:
    errors = []
    values = {name: str(data.get(name, getattr(bank, name)) or "").strip() for name in BRANDING_FIELDS}
    for name in ("color_primary", "color_on_primary", "color_accent"):
        if not COLOR.match(values[name]):
            errors.append(_("颜色须为 #RRGGBB：%(value)s") % {"value": values[name]})
    if not errors and contrast_ratio(values["color_primary"], values["color_on_primary"]) < 4.5:
        errors.append(_("主色与其上文字色对比度不足 4.5:1，视力不佳的持卡人难以看清"))
    if len(values["brand_title"]) > 60 or len(values["footer_text"]) > 200:
        errors.append(_("标题或页脚过长"))
    if errors:
        raise ApplicationError("branding.invalid", "；".join(errors), extra={"errors": errors})
    values["logo_svg"] = svg_check(values["logo_svg"])
    with transaction.atomic():
        locked = Bank.objects.select_for_update().get(pk=bank.pk)
        before = {name: getattr(locked, name) for name in BRANDING_FIELDS if name != "logo_svg"}
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(BRANDING_FIELDS))
        audit_record(
            action="bank.branding",
            actor=actor,
            target=locked,
            before=before,
            after={name: values[name] for name in BRANDING_FIELDS if name != "logo_svg"},
        )
    return locked
