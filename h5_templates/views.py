"""Cardholder-facing white-label pages: code and phone → one-time code (if the campaign asks) →
choose rights → account → confirm → progress. Plain forms and redirects: the whole flow works
without JavaScript. State between steps lives in the (per-bank) session; the phone is kept there
encrypted."""

from __future__ import annotations

import secrets
from typing import Any

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.services import client_ip
from campaigns.models import Campaign, CampaignStatus, Code
from campaigns.phones import phone_digest, phone_normalize
from fulfillment.models import Redemption
from fulfillment.redemption import Choice, redemption_check, redemption_confirm
from platform import ratelimit
from platform.crypto import decrypt, encrypt, mask_phone
from platform.errors import ApplicationError
from platform.tenancy import BankRequest, current_schema

SESSION_KEY = "h5_redeem"
# "not received?" asks the supplier at most once a minute per redemption
NOT_RECEIVED_PER_REDEMPTION = ratelimit.Limit("h5-not-received", max_count=1, window_s=60)


def _seal(phone: str) -> str:
    return encrypt(phone, context=f"h5-session:{current_schema()}")


def _unseal(sealed: str) -> str:
    return decrypt(sealed, context=f"h5-session:{current_schema()}")


def _state(request: BankRequest) -> dict[str, Any]:
    return dict(request.session.get(SESSION_KEY) or {})


def _save(request: BankRequest, state: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = state


def _live_campaigns() -> list[Campaign]:
    return list(Campaign.objects.filter(status=CampaignStatus.LIVE).order_by("-launched_at")[:5])


def landing(request: BankRequest) -> HttpResponse:
    return render(request, "h5/landing.html", {"campaigns": _live_campaigns(), "error": None})


def link(request: BankRequest, token: str) -> HttpResponse:
    """The SMS link: the code comes from the signed token, the cardholder only confirms the phone."""
    from messaging.links import signed_token_read

    try:
        payload = signed_token_read(token=token)
    except ApplicationError as error:
        return render(request, "h5/landing.html", {"campaigns": _live_campaigns(), "error": error.message}, status=400)
    code_id = payload.get("k")
    code = Code.objects.filter(pk=code_id).select_related("campaign").first() if isinstance(code_id, int) else None
    if code is None:
        return render(request, "h5/landing.html", {"campaigns": _live_campaigns(), "error": _("链接无效")}, status=400)
    _save(request, {"link_code_id": code.pk})
    return render(request, "h5/phone.html", {"campaign": code.campaign, "tail": code.tail})


@require_POST
def start(request: BankRequest) -> HttpResponse:
    state = _state(request)
    code_id = state.get("link_code_id") if request.POST.get("via_link") else None
    try:
        checked = redemption_check(
            code_text=request.POST.get("code", ""),
            phone_text=request.POST.get("phone", ""),
            ip=client_ip(request) or "-",
            code_id=code_id,
        )
    except ApplicationError as error:
        template = "h5/phone.html" if code_id else "h5/landing.html"
        context: dict[str, Any] = {
            "campaigns": _live_campaigns(),
            "error": error.message,
            "code_value": request.POST.get("code", ""),
            "phone_value": request.POST.get("phone", ""),
        }
        if code_id:
            linked = Code.objects.filter(pk=code_id).select_related("campaign").first()
            context |= {"campaign": linked.campaign if linked else None, "tail": linked.tail if linked else ""}
        return render(request, template, context, status=error.status)
    campaign = checked.code.campaign
    state = {
        "code_id": checked.code.pk,
        "phone": _seal(checked.phone),
        "campaign_id": campaign.pk,
        "verified": not campaign.requires_otp,
    }
    _save(request, state)
    if campaign.requires_otp:
        return _otp_send(request, checked.phone, checked.code.pk) or redirect("h5:verify")
    return redirect("h5:choose")


def _otp_send(request: BankRequest, phone: str, code_id: int) -> HttpResponse | None:
    from messaging.otp import otp_issue

    try:
        otp_issue(phone=phone, purpose=f"redeem-{code_id}")
    except ApplicationError as error:
        return render(
            request, "h5/verify.html", {"error": error.message, "phone_masked": mask_phone(phone)}, status=429
        )
    return None


def verify(request: BankRequest) -> HttpResponse:
    from messaging.otp import otp_verify

    state = _state(request)
    if "code_id" not in state:
        return redirect("h5:landing")
    phone = _unseal(state["phone"])
    if request.method == "POST":
        if request.POST.get("resend"):
            failure = _otp_send(request, phone, state["code_id"])
            return failure or render(request, "h5/verify.html", {"phone_masked": mask_phone(phone), "sent": True})
        if otp_verify(phone=phone, purpose=f"redeem-{state['code_id']}", code=request.POST.get("otp", "").strip()):
            state["verified"] = True
            _save(request, state)
            return redirect("h5:choose")
        return render(
            request,
            "h5/verify.html",
            {"phone_masked": mask_phone(phone), "error": _("验证码不正确或已过期")},
            status=400,
        )
    return render(request, "h5/verify.html", {"phone_masked": mask_phone(phone)})


def _verified_state(request: BankRequest) -> dict[str, Any] | None:
    state = _state(request)
    return state if state.get("code_id") and state.get("verified") else None


def choose(request: BankRequest) -> HttpResponse:
    from rights_catalog.accounts import account_validate

    state = _verified_state(request)
    if state is None:
        return redirect("h5:landing")
    campaign = get_object_or_404(Campaign, pk=state["campaign_id"])
    items = list(campaign.items.select_related("product"))
    phone = _unseal(state["phone"])
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        chosen = [int(v) for v in request.POST.getlist("product") if v.isdigit()]
        if len(items) == 1:
            chosen = [items[0].product_id]
        choices = []
        for item in items:
            if item.product_id not in chosen:
                continue
            product = item.product
            raw, again = request.POST.get(f"account_{product.pk}", ""), request.POST.get(f"account2_{product.pk}", "")
            values[f"account_{product.pk}"], values[f"account2_{product.pk}"] = raw, again
            try:
                account = account_validate(account_format=product.account_format, value=raw)
                if _needs_twice(product) and account != account_validate(
                    account_format=product.account_format, value=again
                ):
                    raise ApplicationError("account.mismatch", _("两次输入的账号不一致"))
            except ApplicationError as error:
                errors[str(product.pk)] = error.message
                continue
            choices.append({"product_id": product.pk, "account": account})
        wanted = campaign.choose_count if campaign.package_kind == "choose" else 1
        if len(chosen) != wanted:
            errors["choice"] = _("请选择 %(n)s 项权益") % {"n": wanted}
        if not errors:
            state["choices"] = choices
            state["submission_key"] = secrets.token_urlsafe(24)
            _save(request, state)
            return redirect("h5:confirm")
    picked = {int(v) for v in request.POST.getlist("product") if v.isdigit()}
    rows = [
        {
            "product": item.product,
            "picked": item.product_id in picked,
            "twice": _needs_twice(item.product),
            # a top-up most often goes to the cardholder's own phone: offered, never forced
            "value": values.get(f"account_{item.product_id}", phone if item.product.account_format == "mobile" else ""),
            "value2": values.get(f"account2_{item.product_id}", ""),
            "error": errors.get(str(item.product_id), ""),
        }
        for item in items
    ]
    return render(
        request,
        "h5/choose.html",
        {
            "campaign": campaign,
            "rows": rows,
            "choice_error": errors.get("choice", ""),
            "choose_many": campaign.package_kind == "choose" and len(items) > 1,
        },
        status=422 if errors else 200,
    )


def _needs_twice(product: Any) -> bool:
    # value sent to a mistyped account lands with a stranger: such accounts are typed twice
    return product.delivery_type == "direct" and product.account_format != "none"


def confirm(request: BankRequest) -> HttpResponse:
    state = _verified_state(request)
    if state is None or not state.get("choices"):
        # a double tap or a back-button resubmit after the redemption finished (its state is gone)
        done = None
        if request.method == "POST":
            done = Redemption.objects.filter(submission_key=request.POST.get("submission_key", "") or "-").first()
        return redirect("h5:progress", token=done.access_token) if done else redirect("h5:landing")

    def page(error: ApplicationError | None = None) -> HttpResponse:
        campaign = get_object_or_404(Campaign, pk=state["campaign_id"])
        context = {"campaign": campaign, "rows": _rows(campaign, state), "state": state}
        if error is None:
            return render(request, "h5/confirm.html", context)
        return render(request, "h5/confirm.html", context | {"error": error.message}, status=error.status)

    if request.method != "POST":
        return page()
    key = request.POST.get("submission_key", "")
    if key != state.get("submission_key"):
        return redirect("h5:confirm")
    try:
        # a repeat of this submission returns the redemption it already made
        redemption = redemption_confirm(
            code_id=state["code_id"],
            phone=_unseal(state["phone"]),
            choices=[Choice(product_id=c["product_id"], account=c["account"]) for c in state["choices"]],
            submission_key=key,
            ip=client_ip(request),
        )
    except ApplicationError as error:
        return page(error)
    request.session.pop(SESSION_KEY, None)
    return redirect("h5:progress", token=redemption.access_token)


def _rows(campaign: Campaign, state: dict[str, Any]) -> list[dict[str, Any]]:
    items = {item.product_id: item.product for item in campaign.items.select_related("product")}
    return [{"product": items[c["product_id"]], "account": c["account"]} for c in state["choices"]]


def progress(request: BankRequest, token: str) -> HttpResponse:
    redemption = get_object_or_404(Redemption.objects.select_related("campaign"), access_token=token)
    orders = list(redemption.orders.select_related("product").order_by("pk"))
    secrets_shown = {}
    for order in orders:
        if order.card_secret_encrypted and order.status == "succeeded":
            secrets_shown[order.pk] = decrypt(order.card_secret_encrypted, context=f"secret:{current_schema()}")
    return render(request, "h5/progress.html", {"redemption": redemption, "orders": orders, "secrets": secrets_shown})


@require_POST
def not_received(request: BankRequest, token: str) -> HttpResponse:
    redemption = get_object_or_404(Redemption, access_token=token)
    from fulfillment.engine import order_check_now

    if not ratelimit.hit(NOT_RECEIVED_PER_REDEMPTION, token):
        return HttpResponseRedirect(f"/p/{token}/?checked=1")  # asked a moment ago: the answer is on its way
    for order in redemption.orders.exclude(status__in=["failed", "succeeded"]):
        order_check_now(order_id=order.pk)
    return HttpResponseRedirect(f"/p/{token}/?checked=1")


def mine(request: BankRequest) -> HttpResponse:
    """ "My rights": the phone, a one-time code, then every redemption of that phone at this bank."""
    from messaging.otp import otp_issue, otp_verify

    context: dict[str, Any] = {}
    if request.method == "POST":
        phone = phone_normalize(request.POST.get("phone", ""))
        if phone is None:
            context["error"] = _("手机号格式不正确")
        elif request.POST.get("otp"):
            if otp_verify(phone=phone, purpose="mine", code=request.POST["otp"].strip()):
                redemptions = (
                    Redemption.objects.filter(phone_digest=phone_digest(phone))
                    .select_related("campaign")
                    .order_by("-created_at")[:50]
                )
                return render(request, "h5/mine.html", {"redemptions": redemptions, "listed": True})
            context |= {"error": _("验证码不正确或已过期"), "phone_value": phone, "sent": True}
        else:
            try:
                otp_issue(phone=phone, purpose="mine")
                context |= {"phone_value": phone, "sent": True}
            except ApplicationError as error:
                context["error"] = error.message
    return render(request, "h5/mine.html", context)
