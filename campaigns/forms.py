"""Console forms: staff type yuan and local times; services get fen and aware datetimes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from campaigns.services import EDITABLE_FIELDS

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CampaignForm(forms.ModelForm):
    budget_yuan = forms.DecimalField(
        label=_("金额预算（元）"), min_value=Decimal("0"), max_digits=14, decimal_places=2, required=False
    )

    class Meta:
        model = Campaign
        # the service's editable fields; money is typed in yuan (`budget_yuan`), not fen
        fields = [name for name in EDITABLE_FIELDS if name != "budget_fen"]
        widgets = {
            "starts_at": DATETIME_WIDGET,
            "ends_at": DATETIME_WIDGET,
            "valid_until": DATETIME_WIDGET,
            "description": forms.Textarea(attrs={"rows": 2}),
            "rules_text": forms.Textarea(attrs={"rows": 4}),
            "sms_text": forms.Textarea(attrs={"rows": 3, "data-sms-preview": "1"}),
        }
        help_texts = {
            "sms_text": _(
                "可用占位符：${code} 兑换码，${link} 领取链接，${right_name} 权益名称，${expiry} 有效期；"
                "短信签名自动添加"
            ),
            "arrival_text": _("权益到账后短信与页面展示，如：您的权益已到账，请查收。"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at", "valid_until"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M"]  # type: ignore[attr-defined]
        if self.instance.pk:
            self.fields["budget_yuan"].initial = Decimal(self.instance.budget_fen) / 100

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}
        yuan = self.cleaned_data.get("budget_yuan") or Decimal("0")
        data["budget_fen"] = int((yuan * 100).to_integral_value())
        return data


class WhitelistForm(forms.Form):
    file = forms.FileField(label=_("白名单文件（CSV 或 XLSX，最多 100 万行）"))


class CodeBatchForm(forms.Form):
    count = forms.IntegerField(label=_("生成线下兑换码数量"), min_value=1, max_value=10_000_000)


class BranchQuotaForm(forms.Form):
    quotas = forms.CharField(
        label=_("网点名额（每行：网点代码=名额）"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def clean_quotas(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for number, line in enumerate(self.cleaned_data["quotas"].splitlines(), start=1):
            if not line.strip():
                continue
            code, sep, quota = line.partition("=")
            if not sep or not quota.strip().isdigit() or not code.strip():
                raise forms.ValidationError(_("第 %(n)s 行格式应为 网点代码=名额") % {"n": number})
            result[code.strip()] = int(quota.strip())
        return result


class StaffUserForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput, min_length=10)
    role = forms.ChoiceField(label=_("角色"))
    branch_code = forms.CharField(label=_("所属网点（网点负责人必填）"), max_length=32, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from accounts.models import Role

        super().__init__(*args, **kwargs)
        self.fields["role"].choices = Role.choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("role") == "branch_manager" and not data.get("branch_code"):
            self.add_error("branch_code", _("网点负责人须指定网点"))
        return data
