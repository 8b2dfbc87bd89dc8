"""Platform console pages (Django admin, in Chinese) for the shared catalogue and the suppliers:
search, filters and the bulk actions staff need. Supplier secrets are write-only here: the form
takes a new secret, no page ever shows one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.services import audit_record
from fulfillment.suppliers import DIALECTS, dialect_choices
from platform.errors import ApplicationError
from rights_catalog import services
from rights_catalog.catalog_files import CatalogImportError, catalog_export, catalog_import
from rights_catalog.models import (
    BankPrice,
    Category,
    RightsProduct,
    Supplier,
    SupplierAlert,
    SupplierOffer,
    SupplierStatus,
)
from rights_catalog.selectors import supplier_health


def _yuan(fen: int | None) -> str:
    return "—" if fen is None else f"¥{fen / 100:,.2f}"


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "name_en", "sort_order", "active", "product_count")
    list_editable = ("sort_order", "active")
    search_fields = ("name", "code", "name_en")
    list_filter = ("active",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(product_total=Count("products"))

    @admin.display(description="产品数", ordering="product_total")
    def product_count(self, category: Any) -> int:
        return int(category.product_total)


class SupplierOfferInline(admin.TabularInline):
    model = SupplierOffer
    extra = 0
    fields = ("supplier", "supplier_sku", "cost_fen", "priority", "active", "stock")
    autocomplete_fields = ("supplier",)


class CatalogImportForm(forms.Form):
    file = forms.FileField(label="产品文件（CSV 或 XLSX）")


@admin.register(RightsProduct)
class RightsProductAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "name",
        "category",
        "face_value",
        "list_price",
        "delivery_type",
        "account_format",
        "active",
        "offer_count",
    )
    list_filter = ("category", "delivery_type", "account_format", "active", "offers__supplier")
    search_fields = ("sku", "name", "name_en", "offers__supplier_sku")
    list_select_related = ("category",)
    list_per_page = 50
    inlines = [SupplierOfferInline]
    actions = ["activate_selected", "deactivate_selected", "export_csv", "export_xlsx"]
    readonly_fields = ("created_at", "updated_at")
    change_list_template = "admin/rights_catalog/rightsproduct/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[RightsProduct]:
        return super().get_queryset(request).annotate(offer_total=Count("offers", distinct=True))

    @admin.display(description="面值", ordering="face_value_fen")
    def face_value(self, product: RightsProduct) -> str:
        return _yuan(product.face_value_fen)

    @admin.display(description="指导价", ordering="list_price_fen")
    def list_price(self, product: RightsProduct) -> str:
        return _yuan(product.list_price_fen)

    @admin.display(description="报价数", ordering="offer_total")
    def offer_count(self, product: Any) -> int:
        return int(product.offer_total)

    @admin.action(description="上架所选产品")
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[RightsProduct]) -> None:
        changed = queryset.update(active=True)
        audit_record(action="catalog.activated", request=request, after={"count": changed})
        messages.success(request, f"已上架 {changed} 个产品")

    @admin.action(description="下架所选产品")
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[RightsProduct]) -> None:
        changed = queryset.update(active=False)
        audit_record(action="catalog.deactivated", request=request, after={"count": changed})
        messages.success(request, f"已下架 {changed} 个产品")

    @admin.action(description="导出所选产品（CSV）")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[RightsProduct]) -> HttpResponse:
        return self._export(queryset, "csv")

    @admin.action(description="导出所选产品（Excel）")
    def export_xlsx(self, request: HttpRequest, queryset: QuerySet[RightsProduct]) -> HttpResponse:
        return self._export(queryset, "xlsx")

    def _export(self, queryset: QuerySet[RightsProduct] | None, file_format: str) -> HttpResponse:
        products = queryset.select_related("category").order_by("sku") if queryset is not None else None
        content = catalog_export(file_format=file_format, products=products)
        content_type = (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            if file_format == "xlsx"
            else "text/csv; charset=utf-8"
        )
        response = HttpResponse(content, content_type=content_type)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="catalogue-{stamp}.{file_format}"'
        return response

    def get_urls(self) -> list[Any]:
        extra = [
            path("import/", self.admin_site.admin_view(self.import_view), name="rights_catalog_import"),
            path(
                "export/<str:file_format>/",
                self.admin_site.admin_view(self.export_view),
                name="rights_catalog_export",
            ),
        ]
        return extra + super().get_urls()

    def export_view(self, request: HttpRequest, file_format: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._export(None, "xlsx" if file_format == "xlsx" else "csv")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request) or not self.has_add_permission(request):
            raise PermissionDenied
        row_errors: list[dict[str, Any]] = []
        form = CatalogImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = catalog_import(content=upload.read(), filename=upload.name, actor=request.user)  # type: ignore[arg-type]
            except CatalogImportError as error:
                row_errors = error.extra["rows"]
                messages.error(request, error.message)
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"导入完成：新增 {report.created} 个，更新 {report.updated} 个")
                return HttpResponseRedirect(reverse("admin:rights_catalog_rightsproduct_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "导入权益产品",
            "form": form,
            "row_errors": row_errors,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rights_catalog/import.html", context)


class SupplierForm(forms.ModelForm):
    dialect = forms.ChoiceField(label="接口协议", choices=dialect_choices)
    endpoint = forms.URLField(label="接口地址", max_length=300, assume_scheme="https")
    new_secret = forms.CharField(
        label="签名密钥",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="只在录入或更换时填写；保存后加密存储，任何页面都不会再显示。留空则保持不变。",
    )

    class Meta:
        model = Supplier
        fields = (
            "code",
            "name",
            "dialect",
            "endpoint",
            "merchant_id",
            "callback_ip_allowlist",
            "status",
            "connect_timeout_s",
            "read_timeout_s",
            "query_delay_s",
            "balance_alert_fen",
            "success_rate_alert_percent",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not data.get("new_secret"):
            self.add_error("new_secret", "新建供应商必须填写签名密钥")
        allowlist = data.get("callback_ip_allowlist", "")
        import ipaddress

        for entry in allowlist.replace(",", "\n").splitlines():
            if entry.strip():
                try:
                    ipaddress.ip_network(entry.strip(), strict=False)
                except ValueError:
                    self.add_error("callback_ip_allowlist", f"无效的 IP 或网段：{entry.strip()}")
        return data


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    form = SupplierForm
    list_display = (
        "name",
        "code",
        "dialect",
        "status",
        "balance",
        "success_rate_hour",
        "latency_hour",
        "success_rate_day",
        "open_alerts",
        "credentials_state",
    )
    list_filter = ("status", "dialect")
    search_fields = ("name", "code", "merchant_id")
    actions = ["pause_selected", "activate_selected", "health_check_selected"]
    readonly_fields = ("credentials_state", "balance", "balance_checked_at", "health_figures", "created_at")

    def get_fieldsets(self, request: HttpRequest, obj: Supplier | None = None) -> Any:
        basics = ("code", "name", "dialect", "endpoint", "merchant_id", "new_secret", "status")
        fieldsets: list[Any] = [
            (None, {"fields": basics + (("credentials_state",) if obj else ())}),
            (
                "回调与超时",
                {"fields": ("callback_ip_allowlist", "connect_timeout_s", "read_timeout_s", "query_delay_s")},
            ),
            ("告警", {"fields": ("balance_alert_fen", "success_rate_alert_percent")}),
        ]
        if obj is not None:
            fieldsets.append(
                ("余额与健康", {"fields": ("balance", "balance_checked_at", "health_figures", "created_at")})
            )
        return fieldsets

    def save_model(self, request: HttpRequest, obj: Supplier, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            action="supplier.changed" if change else "supplier.created",
            request=request,
            target=obj,
            after={"fields": sorted(form.changed_data)},  # names only: new_secret's value is never logged
        )
        secret = form.cleaned_data.get("new_secret")
        if secret:
            names = DIALECTS[obj.dialect].credential_names
            services.supplier_credentials_set(
                supplier=obj,
                credentials={names[0]: secret},
                actor=request.user,  # type: ignore[arg-type]
            )

    @admin.display(description="凭据")
    def credentials_state(self, supplier: Supplier) -> str:
        if not supplier.credentials_set_at:
            return "未设置"
        return f"已设置（{timezone.localtime(supplier.credentials_set_at):%Y-%m-%d %H:%M}）"

    @admin.display(description="余额", ordering="balance_fen")
    def balance(self, supplier: Supplier) -> str:
        return _yuan(supplier.balance_fen)

    def _health(self, supplier: Supplier, hours: int) -> dict[str, Any]:
        cache: dict[int, dict[str, Any]] = supplier.__dict__.setdefault("_health_cache", {})
        if hours not in cache:
            cache[hours] = supplier_health(supplier=supplier, window=timedelta(hours=hours))
        return cache[hours]

    @admin.display(description="成功率（1小时）")
    def success_rate_hour(self, supplier: Supplier) -> str:
        rate = self._health(supplier, 1)["success_rate"]
        return "—" if rate is None else f"{rate}%"

    @admin.display(description="p50/p95（1小时）")
    def latency_hour(self, supplier: Supplier) -> str:
        health = self._health(supplier, 1)
        return "—" if health["p50_ms"] is None else f"{health['p50_ms']} / {health['p95_ms']} ms"

    @admin.display(description="成功率（24小时）")
    def success_rate_day(self, supplier: Supplier) -> str:
        rate = self._health(supplier, 24)["success_rate"]
        return "—" if rate is None else f"{rate}%"

    @admin.display(description="未解除告警")
    def open_alerts(self, supplier: Supplier) -> int:
        return supplier.alerts.filter(resolved_at__isnull=True).count()

    @admin.display(description="健康指标")
    def health_figures(self, supplier: Supplier) -> str:
        parts = []
        for label, hours in (("近1小时", 1), ("近24小时", 24)):
            h = self._health(supplier, hours)
            rate = "—" if h["success_rate"] is None else f"{h['success_rate']}%"
            latency = "—" if h["p50_ms"] is None else f"p50 {h['p50_ms']} ms / p95 {h['p95_ms']} ms"
            parts.append(f"{label}：下单 {h['submits']} 笔，成功率 {rate}，延迟 {latency}")
        return "；".join(parts)

    @admin.action(description="暂停所选供应商")
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Supplier]) -> None:
        for supplier in queryset:
            supplier.status = SupplierStatus.PAUSED
            supplier.save(update_fields=["status"])
            audit_record(action="supplier.paused", request=request, target=supplier)
        messages.success(request, f"已暂停 {queryset.count()} 个供应商")

    @admin.action(description="启用所选供应商")
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Supplier]) -> None:
        for supplier in queryset:
            supplier.status = SupplierStatus.ACTIVE
            supplier.save(update_fields=["status"])
            audit_record(action="supplier.activated", request=request, target=supplier)
        messages.success(request, f"已启用 {queryset.count()} 个供应商")

    @admin.action(description="查询余额并检查告警")
    def health_check_selected(self, request: HttpRequest, queryset: QuerySet[Supplier]) -> None:
        for supplier in queryset:
            alerts = services.supplier_health_check(supplier=supplier)
            balance = _yuan(supplier.balance_fen)
            if alerts:
                messages.warning(request, f"{supplier.name}：余额 {balance}，新告警 {len(alerts)} 条")
            else:
                messages.success(request, f"{supplier.name}：余额 {balance}")


@admin.register(SupplierOffer)
class SupplierOfferAdmin(admin.ModelAdmin):
    list_display = ("product", "supplier", "supplier_sku", "cost", "priority", "active", "stock")
    list_editable = ("priority", "active")
    list_filter = ("supplier", "active", "product__category", "product__delivery_type")
    search_fields = ("product__sku", "product__name", "supplier_sku", "supplier__name")
    list_select_related = ("product", "supplier")
    autocomplete_fields = ("product", "supplier")
    actions = ["activate_selected", "deactivate_selected"]

    @admin.display(description="成本", ordering="cost_fen")
    def cost(self, offer: SupplierOffer) -> str:
        return _yuan(offer.cost_fen)

    @admin.action(description="启用所选报价")
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[SupplierOffer]) -> None:
        messages.success(request, f"已启用 {queryset.update(active=True)} 条报价")

    @admin.action(description="停用所选报价")
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[SupplierOffer]) -> None:
        messages.success(request, f"已停用 {queryset.update(active=False)} 条报价")


@admin.register(BankPrice)
class BankPriceAdmin(admin.ModelAdmin):
    list_display = ("bank", "product", "price", "list_price", "active", "updated_at")
    list_editable = ("active",)
    list_filter = ("bank", "active", "product__category")
    search_fields = ("product__sku", "product__name", "bank__name", "bank__slug")
    list_select_related = ("bank", "product")
    autocomplete_fields = ("product",)
    actions = ["activate_selected", "deactivate_selected"]

    @admin.display(description="结算价", ordering="price_fen")
    def price(self, price: BankPrice) -> str:
        return _yuan(price.price_fen)

    @admin.display(description="指导价")
    def list_price(self, price: BankPrice) -> str:
        return _yuan(price.product.list_price_fen)

    @admin.action(description="所选价目设为可用")
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[BankPrice]) -> None:
        changed = queryset.update(active=True)
        audit_record(action="bank_price.activated", request=request, after={"count": changed})
        messages.success(request, f"已启用 {changed} 条价目")

    @admin.action(description="所选价目设为不可用")
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[BankPrice]) -> None:
        changed = queryset.update(active=False)
        audit_record(action="bank_price.deactivated", request=request, after={"count": changed})
        messages.success(request, f"已停用 {changed} 条价目")


@admin.register(SupplierAlert)
class SupplierAlertAdmin(admin.ModelAdmin):
    list_display = ("supplier", "kind", "message", "created_at", "resolved_at")
    list_filter = ("kind", "supplier", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("supplier__name", "message")
    readonly_fields = ("supplier", "kind", "message", "value", "threshold", "created_at", "resolved_at")
    actions = ["resolve_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="解除所选告警")
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[SupplierAlert]) -> None:
        changed = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        messages.success(request, f"已解除 {changed} 条告警")
