"""Demo data for the shared catalogue: a realistic catalogue (~100 SKUs), two suppliers (one per
dialect) pointing at the supplier simulator that `./quanyi demo` starts, their offers, and a price
list for every demo bank. Idempotent."""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.db import transaction

from fulfillment.simulator.server import DEFAULT_CREDENTIALS
from rights_catalog.models import (
    AccountFormat,
    BankPrice,
    Category,
    DeliveryType,
    RightsProduct,
    Supplier,
    SupplierOffer,
)
from rights_catalog.services import supplier_credentials_set
from tenants.models import Bank


def simulator_port() -> int:
    return int(os.environ.get("SUPPLIER_SIMULATOR_PORT", "8090"))


def simulator_url() -> str:
    return f"http://127.0.0.1:{simulator_port()}"


CATEGORIES = [
    ("phone-topup", "话费充值", "Phone top-up"),
    ("data-pack", "流量包", "Data packs"),
    ("video-membership", "视频会员", "Video memberships"),
    ("music-membership", "音乐与阅读会员", "Music and reading memberships"),
    ("fuel-card", "加油卡", "Fuel cards"),
    ("ecommerce-card", "电商卡", "E-commerce cards"),
    ("coffee-food", "咖啡餐饮券", "Coffee and food coupons"),
    ("local-life", "外卖出行券", "Delivery and ride coupons"),
]


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    name_en: str
    category: str
    face_fen: int
    list_fen: int
    delivery: str
    account: str
    text: str
    supplier: str  # "md5" | "hmac" | "both"
    cost_fen: int


def _products() -> list[DemoProduct]:
    items: list[DemoProduct] = []
    carriers = [
        ("CM", "中国移动", "China Mobile"),
        ("CU", "中国联通", "China Unicom"),
        ("CT", "中国电信", "China Telecom"),
    ]
    for code, name, name_en in carriers:
        for yuan in (10, 20, 30, 50, 100, 200, 300, 500):
            face = yuan * 100
            items.append(
                DemoProduct(
                    f"PHONE-{code}-{yuan}",
                    f"{name}话费{yuan}元",
                    f"{name_en} top-up ¥{yuan}",
                    "phone-topup",
                    face,
                    face * 995 // 1000,
                    DeliveryType.DIRECT,
                    AccountFormat.MOBILE,
                    f"{name}话费直充到您填写的手机号，一般10分钟内到账，高峰期最长72小时。",
                    "both",
                    face * 985 // 1000,
                )
            )
    for yuan in (10, 20, 30, 50, 100):
        face = yuan * 100
        items.append(
            DemoProduct(
                f"PHONE-CBN-{yuan}",
                f"中国广电话费{yuan}元",
                f"China Broadnet top-up ¥{yuan}",
                "phone-topup",
                face,
                face,
                DeliveryType.DIRECT,
                AccountFormat.MOBILE,
                "中国广电话费直充，24小时内到账。",
                "md5",
                face * 990 // 1000,
            )
        )
    packs = [("1G-DAY", "1GB日包", 500), ("3G-7D", "3GB七天包", 1000), ("5G-M", "5GB月包", 2000),
             ("10G-M", "10GB月包", 3000), ("20G-M", "20GB月包", 5000)]  # fmt: skip
    for code, name, name_en in carriers:
        for pack, label, price in packs:
            items.append(
                DemoProduct(
                    f"DATA-{code}-{pack}",
                    f"{name}{label}",
                    f"{name_en} data {pack}",
                    "data-pack",
                    price,
                    price,
                    DeliveryType.DIRECT,
                    AccountFormat.MOBILE,
                    f"{name}全国通用流量，充值成功后立即生效，有效期见短信通知。",
                    "md5",
                    price * 90 // 100,
                )
            )
    periods = [("M", "月卡", "monthly", 1), ("Q", "季卡", "quarterly", 3), ("Y", "年卡", "annual", 12)]
    videos = [
        ("IQIYI", "爱奇艺黄金会员", "iQIYI Gold VIP", 2500, AccountFormat.MOBILE),
        ("TENCENT", "腾讯视频VIP", "Tencent Video VIP", 2500, AccountFormat.QQ),
        ("YOUKU", "优酷VIP会员", "Youku VIP", 2500, AccountFormat.MOBILE),
        ("MGTV", "芒果TV会员", "Mango TV VIP", 2200, AccountFormat.MOBILE),
        ("BILIBILI", "哔哩哔哩大会员", "bilibili Premium", 2500, AccountFormat.PLATFORM_ID),
    ]
    music = [
        ("QQMUSIC", "QQ音乐豪华绿钻", "QQ Music Green Diamond", 1800, AccountFormat.QQ),
        ("NETEASE", "网易云音乐黑胶VIP", "NetEase Cloud Music VIP", 1800, AccountFormat.MOBILE),
    ]
    for category, brands in (("video-membership", videos), ("music-membership", music)):
        for code, name, name_en, monthly, account in brands:
            for period, label, label_en, months in periods:
                face = monthly * months * (85 if months == 12 else 95 if months == 3 else 100) // 100
                items.append(
                    DemoProduct(
                        f"VIP-{code}-{period}",
                        f"{name}{label}",
                        f"{name_en} {label_en}",
                        category,
                        face,
                        face * 90 // 100,
                        DeliveryType.DIRECT,
                        account,
                        f"{name}直充到您填写的账号，请确认账号无误；会员时长自动叠加。",
                        "hmac",
                        face * 75 // 100,
                    )
                )
    for code, name, name_en, monthly in (("BAIDUPAN", "百度网盘超级会员", "Baidu Netdisk SVIP", 3000),):
        for period, label, label_en, months in periods:
            face = monthly * months * (80 if months == 12 else 100) // 100
            items.append(
                DemoProduct(
                    f"VIP-{code}-{period}",
                    f"{name}{label}",
                    f"{name_en} {label_en}",
                    "music-membership",
                    face,
                    face * 90 // 100,
                    DeliveryType.DIRECT,
                    AccountFormat.PLATFORM_ID,
                    f"{name}直充到您的百度账号（手机号或用户名）。",
                    "hmac",
                    face * 78 // 100,
                )
            )
    for code, name, name_en in (("SINOPEC", "中国石化", "Sinopec"), ("PETROCHINA", "中国石油", "PetroChina")):
        for yuan in (100, 200, 500, 1000):
            face = yuan * 100
            items.append(
                DemoProduct(
                    f"FUEL-{code}-{yuan}",
                    f"{name}加油卡{yuan}元电子券",
                    f"{name_en} fuel card ¥{yuan}",
                    "fuel-card",
                    face,
                    face * 99 // 100,
                    DeliveryType.CARD_SECRET,
                    AccountFormat.NONE,
                    f"卡密将显示在兑换页面并以短信发送，可在{name}App 或加油站绑定充值。",
                    "md5",
                    face * 975 // 1000,
                )
            )
    for code, name, name_en, values in (
        ("JD", "京东E卡", "JD e-card", (50, 100, 200, 500, 1000)),
        ("TMALL", "天猫超市卡", "Tmall Supermarket card", (50, 100, 200, 500)),
    ):
        for yuan in values:
            face = yuan * 100
            items.append(
                DemoProduct(
                    f"EC-{code}-{yuan}",
                    f"{name}{yuan}元",
                    f"{name_en} ¥{yuan}",
                    "ecommerce-card",
                    face,
                    face * 98 // 100,
                    DeliveryType.CARD_SECRET,
                    AccountFormat.NONE,
                    f"{name}卡密，请在{name.removesuffix('E卡').removesuffix('卡')}账户中绑定使用，有效期3年。",
                    "both",
                    face * 965 // 1000,
                )
            )
    coupons = [
        ("STARBUCKS-TALL", "星巴克中杯饮品券", "Starbucks tall drink", 3300, DeliveryType.CARD_SECRET),
        ("STARBUCKS-GRANDE", "星巴克大杯饮品券", "Starbucks grande drink", 3600, DeliveryType.CARD_SECRET),
        ("STARBUCKS-50", "星巴克50元电子礼品卡", "Starbucks ¥50 gift card", 5000, DeliveryType.CARD_SECRET),
        ("LUCKIN-ANY", "瑞幸咖啡任意饮品券", "Luckin any drink", 2900, DeliveryType.LINK),
        ("LUCKIN-20", "瑞幸咖啡20元代金券", "Luckin ¥20 voucher", 2000, DeliveryType.LINK),
        ("MCD-BIGMAC", "麦当劳巨无霸套餐券", "McDonald's Big Mac meal", 3900, DeliveryType.CARD_SECRET),
        ("MCD-30", "麦当劳30元代金券", "McDonald's ¥30 voucher", 3000, DeliveryType.CARD_SECRET),
        ("KFC-BREAKFAST", "肯德基早餐套餐券", "KFC breakfast set", 2200, DeliveryType.CARD_SECRET),
        ("KFC-50", "肯德基50元代金券", "KFC ¥50 voucher", 5000, DeliveryType.CARD_SECRET),
        ("HEYTEA-ANY", "喜茶任意饮品券", "HEYTEA any drink", 3000, DeliveryType.LINK),
        ("PIZZAHUT-100", "必胜客100元代金券", "Pizza Hut ¥100 voucher", 10000, DeliveryType.CARD_SECRET),
        ("MIXUE-10", "蜜雪冰城10元券", "Mixue ¥10 voucher", 1000, DeliveryType.LINK),
    ]
    for code, name, name_en, face, delivery in coupons:
        items.append(
            DemoProduct(
                f"FOOD-{code}",
                name,
                name_en,
                "coffee-food",
                face,
                face * 85 // 100,
                delivery,
                AccountFormat.NONE,
                f"{name}：券码或领取链接显示在兑换页面并以短信发送，请在有效期内到店或在小程序使用。",
                "hmac",
                face * 70 // 100,
            )
        )
    for code, name, name_en, face in (
        ("MEITUAN-10", "美团外卖10元红包", "Meituan delivery ¥10", 1000),
        ("MEITUAN-20", "美团外卖20元红包", "Meituan delivery ¥20", 2000),
        ("ELEME-10", "饿了么10元红包", "Ele.me ¥10", 1000),
        ("ELEME-20", "饿了么20元红包", "Ele.me ¥20", 2000),
        ("DIDI-15", "滴滴出行15元券", "DiDi ride ¥15", 1500),
        ("DIDI-30", "滴滴出行30元券", "DiDi ride ¥30", 3000),
    ):
        items.append(
            DemoProduct(
                f"LIFE-{code}",
                name,
                name_en,
                "local-life",
                face,
                face * 90 // 100,
                DeliveryType.DIRECT,
                AccountFormat.MOBILE,
                f"{name}直接发放到您填写手机号对应的账户，请在App“我的-红包卡券”查看。",
                "hmac",
                face * 80 // 100,
            )
        )
    return items


SUPPLIERS = {
    "md5": ("suchongtong", "速充通（模拟）", "md5form", 1),
    "hmac": ("yunquanyi", "云权益开放平台（模拟）", "hmacjson", 0),
}


def _supplier_sku(prefix: str, product: DemoProduct) -> str:
    # the simulator issues card secrets for supplier SKUs that contain CARD
    marker = "CARD-" if product.delivery == DeliveryType.CARD_SECRET else ""
    return f"{prefix}-{marker}{product.sku}"


@transaction.atomic
def seed() -> list[str]:
    """PUBLIC_DEMO_SEEDERS entry: catalogue, suppliers, offers, and prices for existing banks."""
    categories = {}
    for index, (code, name, name_en) in enumerate(CATEGORIES):
        categories[code], _ = Category.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "sort_order": (index + 1) * 10}
        )
    suppliers = {}
    for key, (code, name, dialect, query_delay) in SUPPLIERS.items():
        supplier, created = Supplier.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "dialect": dialect,
                "endpoint": simulator_url(),
                "merchant_id": DEFAULT_CREDENTIALS[dialect]["merchant_id"],
                "callback_ip_allowlist": "127.0.0.1\n::1",
                "query_delay_s": query_delay,
            },
        )
        if supplier.endpoint != simulator_url():  # the simulator's port may differ between runs
            supplier.endpoint = simulator_url()
            supplier.save(update_fields=["endpoint"])
        if created or not supplier.credentials_encrypted:
            secrets = {k: v for k, v in DEFAULT_CREDENTIALS[dialect].items() if k != "merchant_id"}
            supplier_credentials_set(supplier=supplier, credentials=secrets)
        suppliers[key] = supplier
    products = _products()
    for item in products:
        product, _ = RightsProduct.objects.update_or_create(
            sku=item.sku,
            defaults={
                "name": item.name,
                "name_en": item.name_en,
                "category": categories[item.category],
                "face_value_fen": item.face_fen,
                "list_price_fen": item.list_fen,
                "delivery_type": item.delivery,
                "account_format": item.account,
                "cardholder_text": item.text,
            },
        )
        chosen = ["md5", "hmac"] if item.supplier == "both" else [item.supplier]
        for rank, key in enumerate(chosen):
            SupplierOffer.objects.get_or_create(
                product=product,
                supplier=suppliers[key],
                defaults={
                    "supplier_sku": _supplier_sku("SCT" if key == "md5" else "YQY", item),
                    "cost_fen": item.cost_fen + rank * item.cost_fen // 200,
                    "priority": 10 + rank * 10,
                },
            )
    banks = list(Bank.objects.real())
    for bank in banks:
        seed_bank_prices(bank)
    return [
        f"  rights catalogue   {len(products)} products in {len(CATEGORIES)} categories, suppliers "
        f"{', '.join(s.name for s in suppliers.values())} → supplier simulator {simulator_url()}",
    ]


def seed_bank_prices(bank: Bank) -> list[str]:
    """DEMO_SEEDERS entry: the bank may use every demo product at its list price (public rows)."""
    products = RightsProduct.objects.filter(sku__in=[p.sku for p in _products()])
    existing = set(BankPrice.objects.filter(bank=bank).values_list("product_id", flat=True))
    BankPrice.objects.bulk_create(
        [BankPrice(bank=bank, product=p, price_fen=p.list_price_fen) for p in products if p.pk not in existing]
    )
    return []
