"""How big a customers bench run is (bench_customers), its goals' constants, and the customers it
generates.

Generated customers: ``<region?><3-character trade name><industry><legal form>`` with the trade name
drawn from ~200 characters (no character that starts a region name, so the key is trade name +
industry by construction — checked against the real normaliser on a sample) and one mobile number
each."""

from __future__ import annotations

import math
import os
import random
import uuid
from dataclasses import dataclass

from customers.normalize import _REGION_FORMS, INDUSTRY_WORDS, normalize_company_name, normalize_phone

CALLERS = 16
COPY_CHUNK = 50_000
CREATE_OVER_PING_GOAL = 0.5  # issue 13 (issue 3 asked for 0.7)


@dataclass(frozen=True)
class Scale:
    """How big one run is: ``make bench`` runs FULL, the suite a quick one of its own."""

    sizes: tuple[int, ...] = tuple(
        int(size) for size in os.environ.get("CRM_BENCH_CUSTOMERS_SIZES", "10000,100000,1000000").split(",")
    )
    checks_per_size: int = 400  # half existing names, half new ones
    scans_per_size: int = 15
    fuzzy_per_size: int = 200
    throughput_seconds: float = 10.0
    import_rows: int = int(os.environ.get("CRM_BENCH_IMPORT_ROWS", "20000"))
    database: str = "crm_bench_customers"
    vhost: str = "crm_bench_customers"


FULL = Scale()


def quick_scale() -> Scale:
    """A few hundred customers and a second of throughput, on a database and vhost of its own."""
    suffix = uuid.uuid4().hex[:8]
    return Scale(
        sizes=(200, 400),
        checks_per_size=40,
        scans_per_size=4,
        fuzzy_per_size=20,
        throughput_seconds=1.5,
        import_rows=100,
        database=f"crm_bench_customers_{suffix}",
        vhost=f"crm_bench_customers_{suffix}",
    )


NEW_NAMES_FROM = 20_000_000  # generated customers from here on are never bulk-loaded
IMPORT_NAMES_FROM = NEW_NAMES_FROM + 30_000_000

# --- generated customers ---------------------------------------------------------------------------

_REGION_STARTS = {form[0] for form, _bare, _marked in _REGION_FORMS if not form.isascii()}
_INDUSTRY_CHARS = set("".join(word for word in INDUSTRY_WORDS if not word.isascii()))
TRADE_CHARS = "".join(
    dict.fromkeys(
        char
        for char in (
            "鑫宏达华泰盛源恒昌隆兴瑞祥美利通银正诚康和顺发旺宝凤星川峰博远晨光明辉浩宇创智捷迅力坤乾元亨贞鼎晟润"
            "泽汇聚众优精锐腾飞翔鹏骏驰静雅馨芳菲琳琪瑶璐婷俊杰豪伟刚毅勇威振奋卓越超凡尚品臻致朗晖煜烨炜焱淼森磊"
            "岩峻崇嵘巍屹岳嵩亿万千佰仟友诺义仁礼孝忠贤良善慧敏聪颖睿哲思想梦幻彩虹霞露霜雪冰洁纯真朴素简约雄壮岸"
            "迈奔跃进升阔展拓弘扬昊旻昕晔晓曦暄暖春夏秋冬兰竹菊松柏杨桐槐枫桦楠樟椿檀莲荷蓉芙蕾薇茜莎萍蔚蓝紫翠碧"
            "绿彤赤橙琥珀钻晶琦瑾瑜璋珑玲珊瑚麒麟凰鹤鸿雁燕鹰豹虎狮象鲸鲲骐骥骁骢驹"
        )
        if char not in _REGION_STARTS
        and char not in _INDUSTRY_CHARS
        and char not in "区县公司集团厂分店行部处所"
    )
)
INDUSTRIES = ("机械", "电子", "贸易", "科技", "物流", "食品", "包装", "建材", "化工", "服饰", "家居", "医药")
LEGAL_FORMS = ("有限公司", "股份有限公司", "有限责任公司")
REGION_PREFIXES = ("", "", "", "深圳市", "杭州市", "苏州", "上海市")
MOBILE_PREFIXES = ("138", "139", "136", "135", "186", "187", "188", "158", "159", "150")
SPACE = len(TRADE_CHARS) ** 3 * len(INDUSTRIES)
SCRAMBLE = 2_654_435_761  # odd prime: n → n·SCRAMBLE mod SPACE is a bijection when coprime with SPACE


def company(n: int) -> tuple[str, str, str]:
    """Name, exact name key and E.164 mobile of generated customer ``n`` (unique for each n)."""
    scrambled = n * SCRAMBLE % SPACE
    industry = INDUSTRIES[scrambled % len(INDUSTRIES)]
    rest = scrambled // len(INDUSTRIES)
    base = len(TRADE_CHARS)
    trade = (
        TRADE_CHARS[rest % base] + TRADE_CHARS[rest // base % base] + TRADE_CHARS[rest // base // base % base]
    )
    key = trade + industry
    name = REGION_PREFIXES[n % len(REGION_PREFIXES)] + key + LEGAL_FORMS[n % len(LEGAL_FORMS)]
    return name, key, f"+86{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{n % 100_000_000:08d}"


def check_generator(sample: int = 3000) -> None:
    """The keys built by construction are the ones the service computes."""
    assert math.gcd(SCRAMBLE, SPACE) == 1 and SPACE > NEW_NAMES_FROM + 40_000_000
    rng = random.Random(7)
    for n in [rng.randrange(1, 2_000_000) for _ in range(sample)] + [NEW_NAMES_FROM + i for i in range(100)]:
        name, key, phone = company(n)
        assert normalize_company_name(name) == key, (name, key)
        assert normalize_phone(phone) == phone, phone
