"""The data the company-name rules read (customers.normalize): provinces and cities, legal
forms, branch markers, industry words; and the character readings (pinyin, simplified forms)."""

from __future__ import annotations

from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin, pinyin

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
        "矿业", "水泥", "五金", "建材", "塑料", "塑胶", "橡胶", "陶瓷", "玻璃", "照明", "光电", "材料", "新材料",
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
        "enterprise", "enterprises", "commercial", "supply", "chain", "hardware", "plastic",
        "plastics", "packaging", "building", "electrical",
    }
)  # fmt: skip


@lru_cache(maxsize=65536)
def _syllable(char: str) -> str:
    if not ("\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"):
        return char
    return lazy_pinyin(char, style=Style.NORMAL)[0]


def pinyin_syllables(text: str) -> list[str]:
    """The tone-less pinyin of each CJK character of ``text`` (its most common reading, read
    character by character so that one character never changes another's reading); any other
    character stands for itself. Linear in the text."""
    return [_syllable(char) for char in text]


MAX_READINGS = 3  # of one character: 重 zhong chong tong


@lru_cache(maxsize=65536)
def pinyin_readings(char: str) -> tuple[str, ...]:
    """Every tone-less reading of a character, the most common first (长: zhang, chang), at most
    `MAX_READINGS`; any other character stands for itself."""
    first = _syllable(char)
    if first == char:
        return (char,)
    readings = dict.fromkeys([first, *pinyin(char, style=Style.NORMAL, heteronym=True)[0]])
    return tuple(readings)[:MAX_READINGS]


_TO_SIMPLIFIED = opencc.OpenCC("t2s")


@lru_cache(maxsize=8192)
def to_simplified(text: str) -> str:
    """``text`` in simplified characters (OpenCC's t2s tables): 華為技術 → 华为技术."""
    return _TO_SIMPLIFIED.convert(text) if text else text
