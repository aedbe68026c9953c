"""Exact keys for company names and phones: the rules that decide 撞单 at entry.

A customer is blocked at entry when its *name key* or any *phone key* equals one already
stored. Everything here is pure: no database, no clock, no configuration.

What makes two company names the same key
-----------------------------------------
A registered Chinese company name reads 行政区划 + 字号 + 行业 + 组织形式, e.g.
深圳市 + 华为 + 技术 + 有限公司. The key keeps 字号 + 行业 and drops the rest:

1. Width and case: NFKC (full-width ＡＢＣ１２３ → ABC123), then casefold.
2. Bracketed parts are dropped: （上海）, (China), 【重点客户】, [old], 〔〕, 〖〗. They are
   registration details or notes, never the trade name. Book-title marks 《》 and quotes 「」
   are only punctuation: their content is kept.
3. Whitespace, punctuation and symbols (Chinese and ASCII, ·, &, ®) are dropped.
4. Legal-form suffixes are stripped repeatedly from the end: 股份有限公司, 有限责任公司,
   有限公司, 股份公司, 总公司, 公司, 集团, 合伙企业, 个人独资企业 (and traditional 有限責任公司,
   集團); Co., Ltd., Company Limited, Limited, Inc., Corp., Corporation, LLC, GmbH, PLC,
   Pte, Pty, Group, LP, LLP. So 海尔集团有限公司 = 海尔集团 = 海尔.
   Kept on purpose: 厂 (服装厂 names the trade: a 服装厂 and a 服装有限公司 are left to the fuzzy
   scan), 控股/Holdings (a holding company is a different buyer from its operating company),
   企业, 商行, 经营部, 店.
5. Administrative regions are stripped from the *start only*: provinces, municipalities,
   autonomous regions, SARs, the prefecture-level cities in `CITIES` (with or without 省/市/
   自治区/特别行政区) and, right after one of those, a district or county (朝阳区, 浦东新区, 某某县).
   Pinyin forms are stripped from English names (Shanghai Acme Trading → acmetrading).
   A region inside or at the end of the name is part of the trade name and is kept.
6. A region is never stripped when it is the trade name. It stays when what would remain
   is only industry words (北京银行, 上海贸易, 青岛啤酒, Shanghai Trading), is shorter than two
   characters, or — when the region was written bare, without 省/市 — shorter than three
   (金华火腿 ≠ 义乌火腿; 深圳市华为 → 华为 but 深圳华为 stays 深圳华为).
7. Never an empty key: each step that would empty the name is skipped (有限公司 alone stays
   有限公司; a name that is only a bracket keeps the bracket's content). A name with no letter,
   digit or CJK character at all raises `InvalidCompanyName`.

Decisions, as a sales floor would take them
-------------------------------------------
- The same trade name registered in two cities collides: 上海华为贸易 = 深圳华为贸易. For 撞单
  this is the safer error. A false block is visible at once (the salesperson is told who
  owns the customer and asks the manager, who resolves the real exception); a missed
  duplicate is invisible and is exactly two salespeople chasing one buyer.
- A branch office is a separate customer: 华为技术有限公司北京分公司 buys on its own and may
  belong to another salesperson. Its key keeps the branch marker, head and branch joined by
  `BRANCH_SEPARATOR`: 华为技术/北京分公司. It does not block the head office nor another
  branch, and the fuzzy scan (domain.similarity) flags it against both. The branch's region
  is kept (it is what tells the branches apart), 北京市分公司 = 北京分公司, and 华为技术有限公司
  (北京分公司) is the same branch as 华为技术有限公司北京分公司.
  Markers: 分公司 分厂 分店 分行 支行 分理处 分部 办事处 代表处 营业部 分所, Branch (Office),
  Representative Office.
- Sister companies with a different trade name (华为 / 荣耀) are different customers, and so
  are two companies of one group with different industry words (华为技术 / 华为投资控股):
  those are for the fuzzy scan and the manager, not for a hard block.
- Not handled: traditional vs simplified characters beyond the legal suffixes (華為 ≠ 华为),
  Chinese vs English names of one company (华为技术 ≠ Huawei Technologies), typos. The fuzzy
  scan and the manager cover what an exact key cannot.

Keys are stored with a unique constraint; `KEY_VERSION` changes whenever these rules do, so
stored keys can be recomputed.

Phones
------
E.164 via phonenumbers, default region CN. Extensions are dropped (转, 分机, ext., x, #, and a
trailing "-808" after a complete landline), so a switchboard and its extensions are one
phone. An invalid number raises `InvalidPhone`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

KEY_VERSION = 1
BRANCH_SEPARATOR = "/"
DEFAULT_PHONE_REGION = "CN"


class InvalidCompanyName(ValueError):
    """The name has nothing a key can be made of (empty, or only punctuation)."""


class InvalidPhone(ValueError):
    """The text is not a valid phone number in the given default region."""

    def __init__(self, raw: str, region: str, reason: str) -> None:
        self.raw = raw
        self.region = region
        self.reason = reason
        super().__init__(f"电话号码无效：{raw!r}（{reason}，默认地区 {region}）")


# --- data tables -----------------------------------------------------------------------

# bare name → written forms with their administrative marker
PROVINCES: dict[str, tuple[str, ...]] = {
    "北京": ("北京市",),
    "上海": ("上海市",),
    "天津": ("天津市",),
    "重庆": ("重庆市",),
    "河北": ("河北省",),
    "山西": ("山西省",),
    "辽宁": ("辽宁省",),
    "吉林": ("吉林省", "吉林市"),
    "黑龙江": ("黑龙江省",),
    "江苏": ("江苏省",),
    "浙江": ("浙江省",),
    "安徽": ("安徽省",),
    "福建": ("福建省",),
    "江西": ("江西省",),
    "山东": ("山东省",),
    "河南": ("河南省",),
    "湖北": ("湖北省",),
    "湖南": ("湖南省",),
    "广东": ("广东省",),
    "海南": ("海南省",),
    "四川": ("四川省",),
    "贵州": ("贵州省",),
    "云南": ("云南省",),
    "陕西": ("陕西省",),
    "甘肃": ("甘肃省",),
    "青海": ("青海省",),
    "台湾": ("台湾省",),
    "内蒙古": ("内蒙古自治区",),
    "广西": ("广西壮族自治区", "广西自治区"),
    "西藏": ("西藏自治区",),
    "宁夏": ("宁夏回族自治区", "宁夏自治区"),
    "新疆": ("新疆维吾尔自治区", "新疆自治区"),
    "香港": ("香港特别行政区",),
    "澳门": ("澳门特别行政区",),
}

# Prefecture-level cities (and a few large county-level ones), written with or without 市.
# Left out on purpose because they are everyday words or common trade names:
# 白银 安康 大同 北海 普洱 朝阳 三明 中卫 吉安 永州 长治 金昌 白山 黑河.
CITIES: tuple[str, ...] = (
    # 河北
    "石家庄", "唐山", "秦皇岛", "邯郸", "邢台", "保定", "张家口", "承德", "沧州", "廊坊", "衡水",
    # 山西
    "太原", "阳泉", "晋城", "朔州", "晋中", "运城", "忻州", "临汾", "吕梁",
    # 内蒙古
    "呼和浩特", "包头", "乌海", "赤峰", "通辽", "鄂尔多斯", "呼伦贝尔", "巴彦淖尔", "乌兰察布",
    # 辽宁
    "沈阳", "大连", "鞍山", "抚顺", "本溪", "丹东", "锦州", "营口", "阜新", "辽阳", "盘锦",
    "铁岭", "葫芦岛",
    # 吉林
    "长春", "四平", "辽源", "通化", "松原", "白城",
    # 黑龙江
    "哈尔滨", "齐齐哈尔", "鸡西", "鹤岗", "双鸭山", "大庆", "伊春", "佳木斯", "七台河", "牡丹江",
    "绥化",
    # 江苏
    "南京", "无锡", "徐州", "常州", "苏州", "南通", "连云港", "淮安", "盐城", "扬州", "镇江",
    "泰州", "宿迁", "昆山", "江阴", "张家港", "常熟",
    # 浙江
    "杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水",
    "义乌", "慈溪", "余姚", "诸暨", "乐清", "瑞安",
    # 安徽
    "合肥", "芜湖", "蚌埠", "淮南", "马鞍山", "淮北", "铜陵", "安庆", "黄山", "滁州", "阜阳",
    "宿州", "六安", "亳州", "池州", "宣城",
    # 福建
    "福州", "厦门", "莆田", "泉州", "漳州", "南平", "龙岩", "宁德", "晋江",
    # 江西
    "南昌", "景德镇", "萍乡", "九江", "新余", "鹰潭", "赣州", "宜春", "抚州", "上饶",
    # 山东
    "济南", "青岛", "淄博", "枣庄", "东营", "烟台", "潍坊", "济宁", "泰安", "威海", "日照",
    "临沂", "德州", "聊城", "滨州", "菏泽",
    # 河南
    "郑州", "开封", "洛阳", "平顶山", "安阳", "鹤壁", "新乡", "焦作", "濮阳", "许昌", "漯河",
    "三门峡", "南阳", "商丘", "信阳", "周口", "驻马店",
    # 湖北
    "武汉", "黄石", "十堰", "宜昌", "襄阳", "鄂州", "荆门", "孝感", "荆州", "黄冈", "咸宁", "随州",
    # 湖南
    "长沙", "株洲", "湘潭", "衡阳", "邵阳", "岳阳", "常德", "张家界", "益阳", "郴州", "怀化", "娄底",
    # 广东
    "广州", "韶关", "深圳", "珠海", "汕头", "佛山", "江门", "湛江", "茂名", "肇庆", "惠州", "梅州",
    "汕尾", "河源", "阳江", "清远", "东莞", "中山", "潮州", "揭阳", "云浮",
    # 广西
    "南宁", "柳州", "桂林", "梧州", "防城港", "钦州", "贵港", "玉林", "百色", "贺州", "河池", "来宾",
    "崇左",
    # 海南
    "海口", "三亚", "儋州",
    # 四川
    "成都", "自贡", "攀枝花", "泸州", "德阳", "绵阳", "广元", "遂宁", "内江", "乐山", "南充", "眉山",
    "宜宾", "广安", "达州", "雅安", "巴中", "资阳",
    # 贵州
    "贵阳", "六盘水", "遵义", "安顺", "毕节", "铜仁",
    # 云南
    "昆明", "曲靖", "玉溪", "保山", "昭通", "丽江", "临沧",
    # 西藏
    "拉萨", "日喀则", "林芝",
    # 陕西
    "西安", "铜川", "宝鸡", "咸阳", "渭南", "延安", "汉中", "榆林", "商洛",
    # 甘肃
    "兰州", "嘉峪关", "天水", "武威", "张掖", "平凉", "酒泉", "庆阳", "定西", "陇南",
    # 青海
    "西宁", "海东",
    # 宁夏
    "银川", "石嘴山", "吴忠", "固原",
    # 新疆
    "乌鲁木齐", "克拉玛依", "吐鲁番", "哈密",
)  # fmt: skip

# Pinyin region words as they open English company names (lower case, words space-separated).
PINYIN_REGIONS: tuple[str, ...] = (
    "beijing", "shanghai", "tianjin", "chongqing", "guangdong", "guangzhou", "shenzhen",
    "dongguan", "foshan", "zhuhai", "zhongshan", "huizhou", "shantou", "zhejiang", "hangzhou",
    "ningbo", "wenzhou", "jiaxing", "shaoxing", "yiwu", "jiangsu", "nanjing", "suzhou", "wuxi",
    "changzhou", "nantong", "kunshan", "shandong", "jinan", "qingdao", "yantai", "weifang",
    "fujian", "fuzhou", "xiamen", "quanzhou", "hubei", "wuhan", "hunan", "changsha", "henan",
    "zhengzhou", "hebei", "shijiazhuang", "tangshan", "shanxi", "taiyuan", "shaanxi", "xian",
    "xi an", "sichuan", "chengdu", "yunnan", "kunming", "guizhou", "guiyang", "anhui", "hefei",
    "jiangxi", "nanchang", "liaoning", "shenyang", "dalian", "jilin", "changchun",
    "heilongjiang", "harbin", "guangxi", "nanning", "hainan", "haikou", "sanya", "gansu",
    "lanzhou", "qinghai", "xining", "ningxia", "yinchuan", "xinjiang", "urumqi",
    "inner mongolia", "hohhot", "tibet", "lhasa", "hong kong", "hongkong", "macau", "macao",
    "taiwan",
)  # fmt: skip

# Legal forms, longest first where one contains another.
CHINESE_LEGAL_FORMS: tuple[str, ...] = (
    "个人独资企业", "股份有限公司", "有限责任公司", "有限責任公司", "普通合伙企业", "有限合伙企业",
    "有限公司", "股份公司", "合伙企业", "总公司", "總公司", "公司", "集团", "集團",
)  # fmt: skip
LATIN_LEGAL_FORMS: frozenset[str] = frozenset(
    {
        "co", "company", "ltd", "limited", "inc", "incorporated", "corp", "corporation",
        "llc", "gmbh", "plc", "pte", "pty", "group", "lp", "llp",
    }
)  # fmt: skip

BRANCH_MARKERS: tuple[str, ...] = (
    "分公司", "分理处", "办事处", "代表处", "营业部", "分厂", "分店", "分行", "支行", "分部", "分所",
)  # fmt: skip
LATIN_BRANCH_MARKERS: tuple[str, ...] = (
    "representative office", "rep office", "branch office", "branch",
)  # fmt: skip

# Words that describe a trade, not name one: a region followed only by these is the trade name.
INDUSTRY_WORDS: frozenset[str] = frozenset(
    {
        "贸易", "商贸", "经贸", "外贸", "进出口", "国际", "科技", "技术", "信息", "网络", "软件", "数据",
        "智能", "电子", "电器", "电气", "电力", "能源", "通信", "通讯", "机械", "设备", "机电", "仪器",
        "仪表", "自动化", "实业", "工业", "产业", "企业", "投资", "资本", "资产", "控股", "金融", "银行",
        "商业银行", "农商银行", "农村商业银行", "保险", "证券", "信托", "基金", "发展", "建设", "建筑",
        "工程", "建工", "地产", "房地产", "置业", "物业", "物流", "运输", "货运", "快递", "航空", "港务",
        "交通", "公交", "地铁", "化工", "化纤", "医药", "药业", "制药", "生物", "医疗", "医院", "食品",
        "饮料", "啤酒", "酒业", "乳业", "农业", "畜牧", "服装", "服饰", "纺织", "印染", "鞋业", "家具",
        "家居", "装饰", "装修", "设计", "咨询", "管理", "服务", "文化", "传媒", "广告", "教育", "培训",
        "旅游", "酒店", "餐饮", "汽车", "汽配", "新能源", "环保", "水务", "燃气", "热力", "钢铁", "有色",
        "矿业", "水泥", "五金", "塑料", "塑胶", "橡胶", "陶瓷", "玻璃", "照明", "光电", "材料", "新材料",
        "包装", "印刷", "纸业", "制造", "制品", "加工", "用品", "日用品", "百货", "超市", "商业", "商场",
        "商厦", "供应链", "电商", "电子商务", "中心", "研究院", "大学", "学院", "日报", "电视台", "广播",
        "trading", "trade", "import", "export", "and", "international", "technology",
        "technologies", "tech", "information", "network", "software", "electronics",
        "electronic", "electric", "machinery", "equipment", "industrial", "industries",
        "industry", "investment", "investments", "holding", "holdings", "bank", "insurance",
        "securities", "development", "construction", "engineering", "real", "estate",
        "property", "logistics", "shipping", "transport", "chemical", "chemicals",
        "pharmaceutical", "pharmaceuticals", "biotech", "medical", "food", "foods", "beer",
        "brewery", "textile", "textiles", "garment", "garments", "furniture", "consulting",
        "management", "service", "services", "media", "education", "travel", "hotel",
        "automotive", "auto", "energy", "power", "materials", "manufacturing", "products",
        "enterprise", "enterprises", "commercial", "supply", "chain",
    }
)  # fmt: skip

# --- patterns ------------------------------------------------------------------------------

_OPEN_BRACKETS = "([{【〔〖"
_CLOSE_BRACKETS = ")]}】〕〗"
_BRACKETED = re.compile(
    f"[{re.escape(_OPEN_BRACKETS)}][^{re.escape(_OPEN_BRACKETS + _CLOSE_BRACKETS)}]*"
    f"[{re.escape(_CLOSE_BRACKETS)}]"
)
_TRAILING_BRACKETED = re.compile(
    f"[{re.escape(_OPEN_BRACKETS)}]([^{re.escape(_OPEN_BRACKETS + _CLOSE_BRACKETS)}]*)"
    f"[{re.escape(_CLOSE_BRACKETS)}]\\s*$"
)
_DISTRICT = re.compile(r"[\u4e00-\u9fff]{2,3}?[区县]")
_CHINESE_EXTENSION = re.compile(r"\s*(?:转接|转|分机号?|分機|内线)\s*")
_TRAILING_EXTENSION = re.compile(r"(.*\d)\s*-\s*\d{1,6}")


def _region_forms() -> list[tuple[str, str, bool]]:
    """(written form, bare name, written with its marker) for every region, longest first."""
    forms: list[tuple[str, str, bool]] = []
    for bare, marked_forms in PROVINCES.items():
        forms.append((bare, bare, False))
        forms.extend((marked, bare, True) for marked in marked_forms)
    for city in CITIES:
        forms.append((city, city, False))
        forms.append((city + "市", city, True))
    forms.extend((word, word, False) for word in PINYIN_REGIONS)
    return sorted(set(forms), key=lambda form: -len(form[0]))


_REGION_FORMS = _region_forms()
_MARKED_REGION = re.compile("|".join(re.escape(text) for text, _bare, marked in _REGION_FORMS if marked))
_BARE_OF_MARKED = {text: bare for text, bare, marked in _REGION_FORMS if marked}
_LEGAL_FORM_ANYWHERE = re.compile(
    "|".join(re.escape(form) for form in CHINESE_LEGAL_FORMS)
    + "|"
    + "|".join(rf"\b{form}\b" for form in sorted(LATIN_LEGAL_FORMS, key=len, reverse=True))
)


# --- company names --------------------------------------------------------------------------


@lru_cache(maxsize=8192)  # an entry asks for the same key several times; the rules are pure
def normalize_company_name(name: str) -> str:
    """Return the exact duplicate key of a company name (rules in the module docstring).

    A branch office gives ``<head key>/<branch>``, e.g. ``华为技术/北京分公司``.
    Raises `InvalidCompanyName` when the name has no letter, digit or CJK character.
    """
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    head, branch = _split_branch(folded)
    if branch is not None:
        head_key = _name_key(head)
        if head_key:
            return head_key + BRANCH_SEPARATOR + _branch_key(branch)
    key = _name_key(folded)
    if not key:
        raise InvalidCompanyName(f"公司名称无效：{name!r}（没有文字或数字）")
    return key


def split_branch_key(key: str) -> tuple[str, str | None]:
    """Split a name key into (head office key, branch part or None)."""
    head, separator, branch = key.partition(BRANCH_SEPARATOR)
    return (head, branch) if separator else (key, None)


def _name_key(text: str) -> str:
    words = _words(_remove_bracketed(text))
    if not words:
        # the whole name was bracketed: its content is all there is
        words = _words(text)
    words = _strip_legal_forms(words)
    words = _strip_region_prefix(words)
    return words.replace(" ", "")


def _remove_bracketed(text: str) -> str:
    previous = None
    while previous != text:  # nested brackets go from the inside out
        previous = text
        text = _BRACKETED.sub(" ", text)
    return text


def _words(text: str) -> str:
    """Punctuation, symbols and whitespace become single spaces between words."""
    chars = [" " if unicodedata.category(char)[0] in "PSZC" else char for char in text]
    return " ".join("".join(chars).split())


def _strip_legal_forms(words: str) -> str:
    while True:
        stripped = _strip_one_legal_form(words)
        if stripped is None or not stripped:
            return words
        words = stripped


def _strip_one_legal_form(words: str) -> str | None:
    for form in CHINESE_LEGAL_FORMS:
        if words.endswith(form):
            return words[: -len(form)].rstrip()
    head, _space, last = words.rpartition(" ")
    if last in LATIN_LEGAL_FORMS:
        return head
    return None


def _match_region(words: str, position: int) -> tuple[int, bool] | None:
    """Length of the region written at ``position`` and whether it carried its marker."""
    for text, _bare, marked in _REGION_FORMS:
        if not words.startswith(text, position):
            continue
        end = position + len(text)
        if text.isascii() and end < len(words) and words[end] != " ":
            continue  # a pinyin region must be a whole word: "xiamenite" is not Xiamen
        return len(text), marked
    return None


def _strip_region_prefix(words: str) -> str:
    cuts: list[tuple[int, bool]] = []
    position = 0
    while True:
        region = _match_region(words, position)
        if region is not None:
            length, marked = region
        elif cuts and (district := _DISTRICT.match(words, position)):
            length, marked = district.end() - position, True
        else:
            break
        position += length
        while position < len(words) and words[position] == " ":
            position += 1
        cuts.append((position, marked))
    for cut, marked in reversed(cuts):
        remainder = words[cut:]
        if _is_trade_name(remainder, marked):
            return remainder
    return words


def _is_trade_name(remainder: str, region_was_marked: bool) -> bool:
    compact = remainder.replace(" ", "")
    if len(compact) < (2 if region_was_marked else 3):
        return False
    return not _is_only_industry_words(compact)


@lru_cache(maxsize=4096)
def _is_only_industry_words(compact: str) -> bool:
    if not compact:
        return True
    return any(
        compact.startswith(word) and _is_only_industry_words(compact[len(word) :])
        for word in INDUSTRY_WORDS
        if len(word) <= len(compact)
    )


def _split_branch(folded: str) -> tuple[str, str | None]:
    """(head office part, branch part) of a name, or (name, None) if it is no branch."""
    bracketed = _TRAILING_BRACKETED.search(folded)
    if bracketed is not None:
        content = _words(bracketed.group(1))
        if _branch_marker_at_end(content) is not None:
            return folded[: bracketed.start()], content
    words = _words(_remove_bracketed(folded))
    marker = _branch_marker_at_end(words)
    if marker is None:
        return folded, None
    prefix = words[: -len(marker)].rstrip()
    legal_forms = list(_LEGAL_FORM_ANYWHERE.finditer(prefix))
    if legal_forms:
        cut = legal_forms[-1].end()
        return prefix[:cut], prefix[cut:] + marker
    for text, _bare, _marked in _REGION_FORMS:
        head = prefix[: -len(text)]
        if prefix.endswith(text) and head and (not text.isascii() or head.endswith(" ")):
            return head, text + marker
    return prefix, marker


def _branch_marker_at_end(words: str) -> str | None:
    for marker in BRANCH_MARKERS:
        if words.endswith(marker):
            return marker
    for marker in LATIN_BRANCH_MARKERS:
        if words == marker or words.endswith(" " + marker):
            return marker
    return None


def _branch_key(branch: str) -> str:
    words = _MARKED_REGION.sub(lambda match: _BARE_OF_MARKED[match.group(0)], _words(branch))
    return words.replace(" ", "")


# --- phones -------------------------------------------------------------------------------------


def normalize_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """Return the phone as E.164 (``+8613800138000``), extension dropped.

    ``region`` is the default for numbers written without a country code.
    Raises `InvalidPhone` for an empty or invalid number, `ValueError` for an unknown region.
    """
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}")
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        raise InvalidPhone(raw, region, "号码为空")
    text = _CHINESE_EXTENSION.sub(" ext. ", text)
    number = _parse_valid_number(text, region)
    if number is None and (dashed := _TRAILING_EXTENSION.fullmatch(text)):
        # 021-12345678-808: the last group is an extension when the rest is a whole number
        number = _parse_valid_number(dashed.group(1), region)
    if number is None:
        raise InvalidPhone(raw, region, "不是有效的电话号码")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_valid_number(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None
