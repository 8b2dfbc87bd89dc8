"""Platform console (Django admin, Chinese): plans and billing accounts kept in sync with Stripe,
statements (generate, download), usage, Stripe events, suspension of banks that do not pay."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import User
from billing import services
from billing.models import BillingAccount, Plan, Statement, StatementStatus, StripeEvent, UsageRecord
from billing.selectors import account_past_due_days, month_start
from billing.statements import statement_open
from platform.errors import ApplicationError
from tenants.models import Bank


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _run(request: HttpRequest, label: str, action: Any) -> bool:
    try:
        action()
    except ApplicationError as error:
        messages.error(request, f"{label}：{error.message}")
        return False
    return True


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "monthly_fee_fen", "fee_per_right_fen", "tax_rate_bp", "active", "synced_at")
    readonly_fields = (
        "stripe_product_id",
        "stripe_fee_price_id",
        "stripe_rights_price_id",
        "stripe_cost_price_id",
        "synced_amounts",
        "synced_at",
    )
    actions = ["sync_selected"]

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if _run(request, obj.name, lambda: services.plan_sync(plan=obj, actor=_actor(request))):
            messages.success(request, f"{obj.name} 已同步到 Stripe")

    @admin.action(description="同步所选套餐到 Stripe")
    def sync_selected(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        for plan in queryset:
            _run(request, plan.name, lambda plan=plan: services.plan_sync(plan=plan, actor=_actor(request)))


class BillingAccountForm(forms.ModelForm):
    class Meta:
        model = BillingAccount
        fields = ("bank", "plan", "email", "credit_limit_fen", "prepaid_balance_fen")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "bank" in self.fields:
            self.fields["bank"].queryset = Bank.objects.real()  # type: ignore[attr-defined]


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    form = BillingAccountForm
    list_display = ("bank", "plan", "status", "past_due_days", "credit_limit_fen", "synced_at", "sync_error")
    list_filter = ("status", "plan")
    readonly_fields = (
        "status",
        "past_due_since",
        "stripe_customer_id",
        "stripe_subscription_id",
        "synced_at",
        "sync_error",
    )
    actions = ["sync_selected", "statement_this_month", "statement_last_month", "suspend_past_due", "report_usage"]

    def get_readonly_fields(self, request: HttpRequest, obj: BillingAccount | None = None) -> Any:
        return ("bank", *self.readonly_fields) if obj is not None else self.readonly_fields

    @admin.display(description="逾期天数")
    def past_due_days(self, account: BillingAccount) -> str:
        days = account_past_due_days(account=account)
        return "—" if days is None else str(days)

    def save_model(self, request: HttpRequest, obj: BillingAccount, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if _run(request, str(obj.bank), lambda: services.account_sync(account=obj, actor=_actor(request))):
            messages.success(request, f"{obj.bank} 已同步到 Stripe")

    @admin.action(description="同步所选账户到 Stripe")
    def sync_selected(self, request: HttpRequest, queryset: QuerySet[BillingAccount]) -> None:
        for account in queryset:
            _run(request, str(account.bank), lambda a=account: services.account_sync(account=a, actor=_actor(request)))

    def _statements(self, request: HttpRequest, queryset: QuerySet[BillingAccount], month: date) -> None:
        for account in queryset:
            services.statement_request(bank=account.bank, month=month, actor=_actor(request))
        messages.success(request, f"已提交 {queryset.count()} 份 {month:%Y-%m} 对账单的生成任务")

    @admin.action(description="生成本月对账单（预览）")
    def statement_this_month(self, request: HttpRequest, queryset: QuerySet[BillingAccount]) -> None:
        self._statements(request, queryset, month_start(timezone.now()))

    @admin.action(description="生成上月对账单")
    def statement_last_month(self, request: HttpRequest, queryset: QuerySet[BillingAccount]) -> None:
        this_month = month_start(timezone.now())
        self._statements(
            request, queryset, date(this_month.year - (this_month.month == 1), (this_month.month - 2) % 12 + 1, 1)
        )

    @admin.action(description="暂停逾期超过宽限期的银行")
    def suspend_past_due(self, request: HttpRequest, queryset: QuerySet[BillingAccount]) -> None:
        for account in queryset:
            if _run(
                request,
                str(account.bank),
                lambda a=account: services.account_suspend_past_due(account=a, actor=_actor(request)),
            ):
                messages.success(request, f"已暂停 {account.bank}")

    @admin.action(description="立即上报待上报用量")
    def report_usage(self, request: HttpRequest, queryset: QuerySet[BillingAccount]) -> None:
        result = services.usage_report_pending()
        messages.info(request, f"已上报 {result.reported} 条，失败 {result.failed} 条")


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ("bank", "month", "status", "rights_count", "total_fen", "generated_at", "download")
    list_filter = ("status", "month")
    readonly_fields = [field.name for field in Statement._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="PDF")
    def download(self, statement: Statement) -> str:
        if statement.status != StatementStatus.READY:
            return "—"
        return format_html('<a href="{}">下载</a>', reverse("admin:billing_statement_download", args=[statement.pk]))

    def get_urls(self) -> list[URLPattern]:
        download = path(
            "<int:statement_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="billing_statement_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, statement_id: int) -> HttpResponse:
        statement = (
            Statement.objects.filter(pk=statement_id, status=StatementStatus.READY).select_related("bank").first()
        )
        if statement is None or not self.has_view_permission(request, statement):
            raise Http404
        response = HttpResponse(statement_open(statement=statement), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="statement-{statement.bank.slug}-{statement.month:%Y-%m}.pdf"'
        )
        return response


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = (
        "identifier",
        "bank",
        "kind",
        "product_name",
        "price_fen",
        "fee_fen",
        "occurred_at",
        "report_status",
    )
    list_filter = ("report_status", "kind", "bank")
    search_fields = ("order_ref", "identifier")
    readonly_fields = [field.name for field in UsageRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "outcome", "received_at")
    list_filter = ("type",)
    readonly_fields = [field.name for field in StripeEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
