"""Catalogue import and export as CSV or XLSX.

An import is checked row by row first; if any row is wrong, nothing is written and the staff member
gets every row error at once (row number as the spreadsheet shows it, column, message). Otherwise
all rows are created or updated (by SKU) in one transaction.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import User
from accounts.services import audit_record
from platform.errors import ApplicationError
from rights_catalog.models import AccountFormat, Category, DeliveryType, RightsProduct

COLUMNS = (
    "sku",
    "name",
    "name_en",
    "category",
    "face_value_fen",
    "list_price_fen",
    "delivery_type",
    "account_format",
    "cardholder_text",
    "active",
)
# headers as staff may write them in Chinese
HEADER_ALIASES = {
    "SKU": "sku",
    "名称": "name",
    "英文名称": "name_en",
    "分类": "category",
    "面值（分）": "face_value_fen",
    "面值(分)": "face_value_fen",
    "指导价（分）": "list_price_fen",
    "指导价(分)": "list_price_fen",
    "发放方式": "delivery_type",
    "充值账号格式": "account_format",
    "持卡人说明": "cardholder_text",
    "上架": "active",
}
REQUIRED = ("sku", "name", "category", "face_value_fen", "list_price_fen", "delivery_type", "account_format")
MAX_ROWS = 5000
_SKU = re.compile(r"^[A-Z0-9][A-Z0-9_.\-]{1,63}$")
_TRUE = {"1", "true", "yes", "y", "是", "上架", ""}
_FALSE = {"0", "false", "no", "n", "否", "下架"}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int


class CatalogImportError(ApplicationError):
    def __init__(self, errors: list[RowError]):
        super().__init__(
            "catalog.import_invalid",
            f"导入文件有 {len(errors)} 处错误，未做任何修改",
            extra={"rows": [error.as_dict() for error in errors]},
        )
        self.errors = errors


def _choice(value: str, choices: Iterable[tuple[str, str]]) -> str | None:
    for key, label in choices:
        if value in (key, str(label)):
            return key
    return None


def _rows_from_csv(content: bytes) -> list[dict[str, str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ApplicationError("catalog.import_encoding", "文件编码无法识别，请保存为 UTF-8 CSV")
    reader = csv.reader(io.StringIO(text))
    return _rows_from_table(list(reader))


def _rows_from_xlsx(content: bytes) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:
        raise ApplicationError("catalog.import_unreadable", "无法读取该 Excel 文件") from error
    sheet = workbook.worksheets[0]
    table = [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return _rows_from_table(table)


def _rows_from_table(table: list[list[str]]) -> list[dict[str, str]]:
    if not table:
        raise ApplicationError("catalog.import_empty", "文件是空的")
    headers = [HEADER_ALIASES.get(h.strip(), h.strip().lower()) for h in table[0]]
    missing = [column for column in REQUIRED if column not in headers]
    if missing:
        raise ApplicationError("catalog.import_columns", f"缺少列：{', '.join(missing)}")
    rows: list[dict[str, str]] = []
    for values in table[1:]:
        if not any(str(v).strip() for v in values):
            rows.append({})  # keep numbering: blank lines are skipped later
            continue
        rows.append({headers[i]: str(v).strip() for i, v in enumerate(values) if i < len(headers)})
    if len([r for r in rows if r]) > MAX_ROWS:
        raise ApplicationError("catalog.import_too_large", f"一次最多导入 {MAX_ROWS} 行")
    return rows


def _integer(row: dict[str, str], column: str, errors: list[RowError], number: int) -> int | None:
    raw = row.get(column, "").replace(",", "")
    if raw.endswith(".0"):  # spreadsheets turn 1000 into 1000.0
        raw = raw[:-2]
    if not raw.isdigit():
        errors.append(RowError(number, column, "必须是不小于 0 的整数（单位：分）"))
        return None
    return int(raw)


def catalog_rows_parse(*, content: bytes, filename: str) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Validated product rows, and every error found (row numbers as in the spreadsheet)."""
    rows = _rows_from_xlsx(content) if filename.lower().endswith(".xlsx") else _rows_from_csv(content)
    categories = {c.code: c for c in Category.objects.all()}
    errors: list[RowError] = []
    parsed: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        number = index + 2  # the header is row 1
        if not row:
            continue
        before = len(errors)
        for column in REQUIRED:
            if not row.get(column):
                errors.append(RowError(number, column, "不能为空"))
        sku = row.get("sku", "").upper()
        if sku and not _SKU.match(sku):
            errors.append(RowError(number, "sku", "SKU 只能包含大写字母、数字、- _ .，2到64位"))
        if sku in seen:
            errors.append(RowError(number, "sku", f"与第 {seen[sku]} 行重复"))
        elif sku:
            seen[sku] = number
        category = categories.get(row.get("category", ""))
        if row.get("category") and category is None:
            errors.append(RowError(number, "category", f"分类 {row['category']} 不存在"))
        face = _integer(row, "face_value_fen", errors, number) if row.get("face_value_fen") else None
        price = _integer(row, "list_price_fen", errors, number) if row.get("list_price_fen") else None
        if face == 0:
            errors.append(RowError(number, "face_value_fen", "面值必须大于 0"))
        delivery = _choice(row.get("delivery_type", ""), DeliveryType.choices)
        if row.get("delivery_type") and delivery is None:
            errors.append(RowError(number, "delivery_type", "发放方式必须是 direct、card_secret 或 link"))
        account_format = _choice(row.get("account_format", ""), AccountFormat.choices)
        if row.get("account_format") and account_format is None:
            errors.append(RowError(number, "account_format", "账号格式必须是 mobile、qq、platform_id 或 none"))
        if delivery == DeliveryType.DIRECT and account_format == AccountFormat.NONE:
            errors.append(RowError(number, "account_format", "直充产品必须指定充值账号格式"))
        active_raw = row.get("active", "").lower()
        if active_raw not in _TRUE | _FALSE:
            errors.append(RowError(number, "active", "上架必须是 1/0、是/否"))
        if len(row.get("name", "")) > 120:
            errors.append(RowError(number, "name", "名称不能超过 120 个字"))
        if len(errors) == before:
            parsed.append(
                {
                    "sku": sku,
                    "name": row["name"],
                    "name_en": row.get("name_en", ""),
                    "category": category,
                    "face_value_fen": face,
                    "list_price_fen": price,
                    "delivery_type": delivery,
                    "account_format": account_format,
                    "cardholder_text": row.get("cardholder_text", ""),
                    "active": active_raw in _TRUE,
                }
            )
    if not parsed and not errors:
        raise ApplicationError("catalog.import_empty", "文件中没有产品行")
    return parsed, errors


def catalog_import(*, content: bytes, filename: str, actor: User | None = None) -> ImportReport:
    """All rows or none: raises `CatalogImportError` (with every row error) and changes nothing."""
    parsed, errors = catalog_rows_parse(content=content, filename=filename)
    if errors:
        raise CatalogImportError(errors)
    created = updated = 0
    with transaction.atomic():
        for values in parsed:
            sku = values.pop("sku")
            _, was_created = RightsProduct.objects.update_or_create(sku=sku, defaults=values)
            created += was_created
            updated += not was_created
        audit_record(
            action="catalog.imported", actor=actor, after={"file": filename, "created": created, "updated": updated}
        )
    return ImportReport(created=created, updated=updated)


def _export_rows(products: Iterable[RightsProduct]) -> list[list[Any]]:
    return [
        [
            p.sku,
            p.name,
            p.name_en,
            p.category.code,
            p.face_value_fen,
            p.list_price_fen,
            p.delivery_type,
            p.account_format,
            p.cardholder_text,
            1 if p.active else 0,
        ]
        for p in products
    ]


def catalog_export(*, file_format: str, products: Iterable[RightsProduct] | None = None) -> bytes:
    """The catalogue (or the given products) in the import's own columns: re-importable as is."""
    if products is None:
        products = RightsProduct.objects.select_related("category").order_by("category__sort_order", "sku")
    rows = _export_rows(products)
    if file_format == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.title = "catalogue"
        sheet.append(list(COLUMNS))
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return ("\ufeff" + text.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8
