"""Platform console pages for banks: create (through the provisioning service), suspend, resume."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from platform.errors import ApplicationError
from tenants import services
from tenants.models import Bank, Domain


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary")
    readonly_fields = ("domain", "is_primary")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BankCreateForm(forms.ModelForm):
    custom_domains = forms.CharField(
        label="自定义域名（每行一个，可选）", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    admin_username = forms.CharField(label="卡中心管理员用户名", required=False)
    admin_password = forms.CharField(label="卡中心管理员初始密码", required=False, widget=forms.PasswordInput)

    class Meta:
        model = Bank
        fields = (
            "slug",
            "name",
            "name_en",
            "color_primary",
            "color_on_primary",
            "color_accent",
            "logo_svg",
            "footer_text",
        )


@admin.register(Bank)
class BankAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "primary_host", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug", "domains__domain")
    inlines = [DomainInline]
    actions = ["suspend_selected", "resume_selected"]
    readonly_fields = ("schema_name", "slug", "status", "suspended_reason", "created_at")
    fields = (
        "name",
        "name_en",
        "slug",
        "schema_name",
        "status",
        "suspended_reason",
        "brand_title",
        "color_primary",
        "color_on_primary",
        "color_accent",
        "logo_svg",
        "footer_text",
        "created_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Bank]:
        return Bank.objects.real()

    @admin.display(description="主域名")
    def primary_host(self, bank: Bank) -> str:
        domain = bank.get_primary_domain()
        return domain.domain if domain else "—"

    def get_form(self, request: HttpRequest, obj: Bank | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = BankCreateForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Bank | None = None) -> Any:
        if obj is None:
            return [*BankCreateForm.Meta.fields, "custom_domains", "admin_username", "admin_password"]
        return self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Bank | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request: HttpRequest, obj: Bank | None) -> Any:
        return self.inlines if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Bank, form: Any, change: bool) -> None:
        if change:
            from tenants.branding import svg_check

            obj.logo_svg = svg_check(obj.logo_svg)  # the same rule as the bank console: no script in logos
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        admin_account = None
        if data.get("admin_username") and data.get("admin_password"):
            admin_account = services.NewBankAdmin(username=data["admin_username"], password=data["admin_password"])
        bank = services.bank_create(
            slug=data["slug"],
            name=data["name"],
            name_en=data.get("name_en", ""),
            custom_domains=(data.get("custom_domains") or "").split(),
            color_primary=data["color_primary"],
            color_on_primary=data["color_on_primary"],
            color_accent=data["color_accent"],
            logo_svg=data.get("logo_svg", ""),
            footer_text=data.get("footer_text", ""),
            admin=admin_account,
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk = bank.pk
        obj.refresh_from_db()

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        try:
            return super().add_view(request, form_url, extra_context)
        except ApplicationError as error:
            messages.error(request, error.message)
            from django.shortcuts import redirect

            return redirect(request.get_full_path())

    @admin.action(description="暂停所选银行")
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Bank]) -> None:
        for bank in queryset:
            services.bank_suspend(bank=bank, reason="平台运营暂停", actor=request.user)  # type: ignore[arg-type]
        messages.success(request, f"已暂停 {queryset.count()} 家银行")

    @admin.action(description="恢复所选银行")
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Bank]) -> None:
        resumed = 0
        for bank in queryset:
            try:
                services.bank_resume(bank=bank, actor=request.user)  # type: ignore[arg-type]
                resumed += 1
            except ApplicationError as error:
                messages.warning(request, f"{bank.name}：{error.message}")
        messages.success(request, f"已恢复 {resumed} 家银行")
