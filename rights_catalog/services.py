"""Writes to the shared catalogue and supplier records: credentials (encrypted, write-only), call
records for health figures, balance refresh, alerts, and bank price lists."""

from __future__ import annotations

import ipaddress
import json
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_record
from platform.crypto import decrypt, encrypt
from platform.errors import ApplicationError
from rights_catalog.models import (
    AlertKind,
    BankPrice,
    RightsProduct,
    Supplier,
    SupplierAlert,
    SupplierOffer,
)
from rights_catalog.selectors import supplier_health
from tenants.models import Bank

logger = logging.getLogger(__name__)

_CREDENTIALS_CONTEXT = "supplier-credentials"


def supplier_credentials_set(*, supplier: Supplier, credentials: dict[str, str], actor: User | None = None) -> None:
    """Store the supplier's secrets encrypted. They can be replaced, never read back on a page."""
    cleaned = {key: value for key, value in credentials.items() if value}
    if not cleaned:
        raise ApplicationError("supplier.credentials_empty", "凭据不能为空")
    supplier.credentials_encrypted = encrypt(json.dumps(cleaned, sort_keys=True), context=_CREDENTIALS_CONTEXT)
    supplier.credentials_set_at = timezone.now()
    supplier.save(update_fields=["credentials_encrypted", "credentials_set_at"])
    # the audit row names which fields changed, never their values
    audit_record(action="supplier.credentials_set", actor=actor, target=supplier, after={"fields": sorted(cleaned)})


def supplier_credentials(*, supplier: Supplier) -> dict[str, str]:
    """The decrypted secrets, for the adapter layer only."""
    if not supplier.credentials_encrypted:
        return {}
    return dict(json.loads(decrypt(supplier.credentials_encrypted, context=_CREDENTIALS_CONTEXT)))


def supplier_ip_allowed(*, supplier: Supplier, remote_ip: str) -> bool:
    """Whether a callback from `remote_ip` may come from this supplier (empty list: any address)."""
    entries = [line.strip() for line in supplier.callback_ip_allowlist.replace(",", "\n").splitlines()]
    entries = [entry for entry in entries if entry]
    if not entries:
        return True
    try:
        address = ipaddress.ip_address(remote_ip)
    except ValueError:
        return False
    for entry in entries:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            logger.warning("supplier %s has an invalid allow-list entry", supplier.code)
    return False


def _alert_open(*, supplier: Supplier, kind: str, message: str, value: int, threshold: int) -> SupplierAlert | None:
    if SupplierAlert.objects.filter(supplier=supplier, kind=kind, resolved_at__isnull=True).exists():
        return None
    try:
        with transaction.atomic():
            alert = SupplierAlert.objects.create(
                supplier=supplier, kind=kind, message=message, value=value, threshold=threshold
            )
    except IntegrityError:  # opened concurrently by another checker
        return None
    logger.warning("supplier alert %s for %s: %s", kind, supplier.code, message)
    return alert


def _alert_resolve(*, supplier: Supplier, kind: str) -> None:
    SupplierAlert.objects.filter(supplier=supplier, kind=kind, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )


def supplier_balance_refresh(*, supplier: Supplier) -> int | None:
    """Ask the supplier for its balance and keep it on the record; None when it did not answer."""
    from fulfillment.suppliers import BalanceResult, adapter_for

    result = adapter_for(supplier).balance()
    if not isinstance(result, BalanceResult):
        return None
    supplier.balance_fen = result.balance_fen
    supplier.balance_checked_at = timezone.now()
    supplier.save(update_fields=["balance_fen", "balance_checked_at"])
    return result.balance_fen


def supplier_alerts_evaluate(*, supplier: Supplier, min_submits: int = 20) -> list[SupplierAlert]:
    """Open (or resolve) the balance and success-rate alerts from the latest figures."""
    opened: list[SupplierAlert] = []
    if supplier.balance_fen is not None:
        if supplier.balance_fen < supplier.balance_alert_fen:
            alert = _alert_open(
                supplier=supplier,
                kind=AlertKind.BALANCE_LOW,
                message=f"余额 {supplier.balance_fen / 100:.2f} 元，低于阈值 {supplier.balance_alert_fen / 100:.2f} 元",
                value=supplier.balance_fen,
                threshold=supplier.balance_alert_fen,
            )
            opened += [alert] if alert else []
        else:
            _alert_resolve(supplier=supplier, kind=AlertKind.BALANCE_LOW)
    health = supplier_health(supplier=supplier, window=timedelta(hours=1))
    rate = health["success_rate"]
    if rate is not None and health["submits"] >= min_submits:
        if rate < supplier.success_rate_alert_percent:
            alert = _alert_open(
                supplier=supplier,
                kind=AlertKind.SUCCESS_RATE_LOW,
                message=(
                    f"近1小时下单成功率 {rate}%（{health['submits']} 笔），低于 {supplier.success_rate_alert_percent}%"
                ),
                value=int(rate),
                threshold=supplier.success_rate_alert_percent,
            )
            opened += [alert] if alert else []
        else:
            _alert_resolve(supplier=supplier, kind=AlertKind.SUCCESS_RATE_LOW)
    return opened


def supplier_health_check(*, supplier: Supplier) -> list[SupplierAlert]:
    """Refresh the balance, then evaluate the alerts (the periodic job and the console action)."""
    supplier_balance_refresh(supplier=supplier)
    return supplier_alerts_evaluate(supplier=supplier)


def offer_stock_take(*, offer: SupplierOffer, quantity: int = 1) -> bool:
    """Take `quantity` card secrets from an offer's stock in one conditional UPDATE; False when not
    enough is left (unlimited stock, NULL, always succeeds)."""
    if offer.stock is None:
        return True
    taken = SupplierOffer.objects.filter(pk=offer.pk, stock__gte=quantity).update(stock=F("stock") - quantity)
    return taken == 1


def offer_stock_set(*, offer: SupplierOffer, stock: int | None) -> None:
    """Record the stock the supplier reported (`ProductInfo.stock`; None = unlimited)."""
    SupplierOffer.objects.filter(pk=offer.pk).update(stock=stock)


def bank_price_set(
    *, bank: Bank, product: RightsProduct, price_fen: int, active: bool = True, actor: User | None = None
) -> BankPrice:
    """Put a product on a bank's price list (or change its price)."""
    if price_fen <= 0:
        raise ApplicationError("price.invalid", "价格必须大于0")
    price, created = BankPrice.objects.update_or_create(
        bank=bank, product=product, defaults={"price_fen": price_fen, "active": active}
    )
    audit_record(
        action="bank_price.created" if created else "bank_price.changed",
        actor=actor,
        target=price,
        after={"bank": bank.slug, "sku": product.sku, "price_fen": price_fen, "active": active},
    )
    return price
