"""Knowledge search at 10k and 100k generated Chinese entries, on PostgreSQL and on SQLite.

What is timed is one search as the service answers ``GET /knowledge?q=`` without the HTTP and
RPC hops: segment the query, read the ranked page from the full-text index, load the page's
entries and cut their highlights (``knowledge.store_search.find_entries``).

The corpus is generated once (seeded) and segmented once per entry; each backend is migrated
with the service's own migrations, loaded with 10k entries in batches, measured, topped up to
100k, measured again. PostgreSQL: ``crm_bench_knowledge`` on ``KNOWLEDGE_BENCH_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432``), dropped and created afresh; skipped if unreachable.

Run alone: ``.venv/bin/python -m bench.bench_knowledge`` (results under ``bench/results/``).
"""

from __future__ import annotations

import gc
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.support import drop_database, goal, goals_markdown, machine_load, percentile, unique_name
from crm_common.migrations import upgrade
from knowledge.constants import EntryKind
from knowledge.domain import Entry as DomainEntry
from knowledge.models import Entry, EntryTag
from knowledge.search import Filters, entry_facets
from knowledge.segment import default_segmenter
from knowledge.store_search import find_entries, rebuild_sqlite_index

SIZES = (10_000, 100_000)
QUICK_SIZES = (400, 800)
QUICK_REPEATS = 2
BATCH = 5_000
REPEATS = 12  # each query this many times per measurement (after one warm-up round)
SEED = 20261126
PG_SERVER = os.environ.get("KNOWLEDGE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
PG_DATABASE = "crm_bench_knowledge"
GOAL_RATIO = 2.0

SUBJECTS = [
    "客户",
    "采购经理",
    "老板",
    "决策人",
    "财务总监",
    "技术负责人",
    "新客户",
    "老客户",
    "大客户",
    "经销商",
    "代理商",
    "对接人",
    "采购部",
    "渠道商",
    "终端客户",
    "意向客户",
]
TROUBLES = [
    "嫌贵",
    "觉得价格太高",
    "要求降价",
    "拿竞品比价",
    "一直压价",
    "迟迟不签合同",
    "拖延回款",
    "不回微信也不接电话",
    "说今年没预算",
    "要求更长的账期",
    "担心售后服务跟不上",
    "对质量问题有顾虑",
    "要求独家代理",
    "想先免费试用",
    "同时比较了三家供应商",
    "内部决策流程很长",
    "换了新的采购负责人",
    "抱怨交货期太长",
    "要求免费安装调试",
    "提出退货",
    "被竞争对手抢单",
    "招标时被围标",
    "只认最低价",
    "要求增值税发票提前开",
    "对合同条款有异议",
    "续约时要求打折",
    "欠款三个月未付",
    "投诉售后响应慢",
    "嫌样品费太高",
    "临时取消了约见",
]
CONTEXTS = [
    "签约前",
    "第一次拜访后",
    "发完报价单之后",
    "年底冲业绩时",
    "招投标阶段",
    "续约谈判时",
    "展会上认识以后",
    "转介绍过来以后",
    "产品演示结束后",
    "试用期快结束时",
    "寄样之后",
    "验厂之后",
]
INDUSTRIES = [
    "制造业",
    "医疗器械",
    "教育培训",
    "餐饮连锁",
    "房地产",
    "物流",
    "软件",
    "化工",
    "零售",
    "汽车配件",
    "纺织",
    "食品加工",
    "电子元件",
    "建材",
    "环保设备",
]
CITIES = [
    "上海",
    "苏州",
    "杭州",
    "宁波",
    "南京",
    "无锡",
    "合肥",
    "深圳",
    "广州",
    "东莞",
    "佛山",
    "厦门",
    "成都",
    "重庆",
    "武汉",
    "长沙",
    "郑州",
    "西安",
    "青岛",
    "济南",
    "天津",
    "北京",
    "沈阳",
    "大连",
]
MOVES = [
    "先认同客户的感受，再讲清楚产品的价值",
    "给出阶梯报价，量大从优",
    "申请一次性返点",
    "安排样品免费试用两周",
    "邀请客户来参观工厂",
    "用标杆客户的成功案例说明投资回报",
    "拆分报价单，突出性价比",
    "找到真正的拍板人",
    "提供分期付款方案，首付三成",
    "书面承诺售后四小时响应",
    "约技术负责人做一次方案演示",
    "赠送一年延长保修",
    "请经理出面上门拜访",
    "把竞品的隐性成本一项项算清楚",
    "签订框架协议锁定全年价格",
    "每周电话回访一次",
    "整理竞品分析表发给采购部",
    "把交期写进合同条款",
    "先开一部分发票，尾款到账再开余下的",
    "用转介绍的老客户帮忙背书",
    "把预算拆到下个季度",
    "给财务总监单独讲回款计划",
    "陪标不如不投，集中资源做重点客户",
    "送样时附上检测报告",
    "降价不如加服务：免费培训操作人员",
    "约在展会现场面谈",
    "逼单前先确认对方的决策流程",
]
OUTCOMES = [
    "最后顺利签单",
    "两周后成交",
    "客户当月回款",
    "续约三年",
    "客户追加了订单",
    "拿下了年度框架协议",
    "客户转介绍了两家同行",
    "虽然丢单，但摸清了竞品底价",
    "",
]
TAGS = [
    "价格异议",
    "回款",
    "竞品",
    "决策人",
    "售后",
    "签约",
    "续约",
    "大客户",
    "新客户开发",
    "渠道",
    "招标",
    "试用",
    "谈判",
    "转介绍",
    "账期",
    "质量问题",
    "交期",
]
KINDS = [EntryKind.SOLUTION, EntryKind.SUCCESS_STORY, EntryKind.FAQ]

# (query, kind, tag): what salespeople type, some narrowed by kind or tag
QUERIES: list[tuple[str, str | None, str | None]] = [
    ("客户嫌贵", None, None),
    ("客户嫌贵怎么办", None, None),
    ("报价", None, None),
    ("价格", None, None),
    ("阶梯报价", None, None),
    ("回款", None, None),
    ("竞品比价", None, None),
    ("决策人", None, None),
    ("售后服务", None, None),
    ("免费试用", None, None),
    ("续约 打折", None, None),
    ("招标 围标", None, None),
    ("账期 欠款", None, None),
    ("医疗器械 报价", None, None),
    ("苏州 制造业 回款", None, None),
    ("经销商 压价", None, None),
    ("分期付款", None, None),
    ("参观工厂", None, None),
    ("老客户 转介绍 成交", None, None),
    ("增值税发票", None, None),
    ("大连 纺织 样品费", None, None),
    ("区块链", None, None),
    ("客户嫌贵", "success_story", None),
    ("回款", None, "账期"),
    ("报价", "faq", "价格异议"),
]


def generate(count: int, seed: int = SEED) -> list[dict[str, Any]]:
    """``count`` entries of sales experience, the same for the same seed."""
    pick = random.Random(seed)

    def zipf(items: list[str]) -> str:
        return pick.choices(items, weights=[1 / (rank + 1) for rank in range(len(items))])[0]

    started = datetime(2024, 1, 1, tzinfo=UTC)
    entries = []
    for number in range(count):
        subject, trouble = zipf(SUBJECTS), zipf(TROUBLES)
        industry, city = zipf(INDUSTRIES), zipf(CITIES)
        title = f"{city}{industry}{subject}{trouble}"
        problem = f"{zipf(CONTEXTS)}，{subject}{trouble}，而且{zipf(SUBJECTS)}{zipf(TROUBLES)}。"
        moves = pick.sample(MOVES, pick.randint(2, 4))
        solution = "；".join(moves) + "。" + pick.choice(OUTCOMES)
        votes = min(int(pick.paretovariate(1.2)) - 1, 300)
        entries.append(
            {
                "kind": pick.choices(KINDS, weights=[6, 3, 1])[0].value,
                "title": title,
                "problem": problem,
                "solution": solution,
                "tags": sorted({zipf(TAGS) for _ in range(pick.randint(1, 3))}),
                "industry": industry,
                "author_id": pick.randint(1, 200),
                "team": f"team{pick.randint(1, 12)}",
                "useful_votes": votes,
                "views": votes * pick.randint(2, 20),
                "created_at": started + timedelta(minutes=number),
            }
        )
    return entries


def segment_all(entries: list[dict[str, Any]]) -> float:
    """Add ``terms`` to every entry (one segmentation each); returns the seconds it took."""
    segmenter = default_segmenter()
    started = time.perf_counter()
    for entry in entries:
        searchable = DomainEntry(
            kind=EntryKind(entry["kind"]),
            title=entry["title"],
            problem=entry["problem"],
            solution=entry["solution"],
            author_id=entry["author_id"],
            tags=tuple(entry["tags"]),
            industry=entry["industry"],
        ).searchable_text()
        entry["terms"] = segmenter.index_terms(searchable)
    return time.perf_counter() - started


def batches(rows: list[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def load(engine: Any, entries: list[dict[str, Any]], first_id: int) -> float:
    """Insert ``entries`` (ids from ``first_id``) in batches; returns the seconds it took."""
    started = time.perf_counter()
    with engine.begin() as conn:
        for offset, batch in enumerate(batches(entries)):
            base = first_id + offset * BATCH
            conn.execute(
                insert(Entry),
                [
                    {
                        "id": base + index,
                        "kind": row["kind"],
                        "title": row["title"],
                        "problem": row["problem"],
                        "solution": row["solution"],
                        "tags": json.dumps(row["tags"], ensure_ascii=False),
                        "author_id": row["author_id"],
                        "author_name": f"user{row['author_id']}",
                        "team": row["team"],
                        "industry": row["industry"],
                        "version": 1,
                        "views": row["views"],
                        "useful_votes": row["useful_votes"],
                        "pinned": False,
                        "archived": False,
                        "terms": row["terms"],
                        "facets": entry_facets(row["kind"], row["tags"]),
                        "created_at": row["created_at"],
                        "updated_at": row["created_at"],
                    }
                    for index, row in enumerate(batch)
                ],
            )
            conn.execute(
                insert(EntryTag),
                [
                    {"entry_id": base + index, "tag": tag}
                    for index, row in enumerate(batch)
                    for tag in row["tags"]
                ],
            )
        if engine.dialect.name == "sqlite":
            rebuild_sqlite_index(conn)
        else:
            conn.execute(text("SELECT setval('entries_id_seq', (SELECT max(id) FROM entries))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE entries"))
            conn.execute(text("VACUUM ANALYZE entry_tags"))
    return time.perf_counter() - started


def measure(engine: Any, repeats: int = REPEATS) -> dict[str, Any]:
    """p50/p99 (ms) of every query in :data:`QUERIES`, each run ``repeats`` times."""
    segmenter = default_segmenter()
    samples: list[float] = []
    per_query: dict[str, float] = {}
    # the generated corpus is the benchmark's, not the service's: keep the collector off it
    gc.collect()
    gc.freeze()
    with Session(engine) as session:
        for round_number in range(repeats + 1):
            for q, kind, tag in QUERIES:
                started = time.perf_counter()
                page = find_entries(session, segmenter, q, Filters(kind=kind, tag=tag), offset=0, limit=20)
                elapsed = (time.perf_counter() - started) * 1000
                if round_number == 0:
                    continue  # warm-up: caches, prepared plans
                samples.append(elapsed)
                label = q + (f" kind={kind}" if kind else "") + (f" tag={tag}" if tag else "")
                per_query[label] = max(per_query.get(label, 0.0), elapsed)
                if round_number == 1 and q == "客户嫌贵" and not kind and not tag:
                    # a sanity check that the timed searches find what they should
                    assert page.items and page.items[0].relevance == len(page.terms) == 2
    gc.unfreeze()
    samples.sort()
    return {
        "p50_ms": round(percentile(samples, 50), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "searches": len(samples),
        "slowest_query_ms": dict(sorted(per_query.items(), key=lambda item: -item[1])[:3]),
    }


def bench_backend(
    url: str, entries: list[dict[str, Any]], sizes: tuple[int, ...] = SIZES, repeats: int = REPEATS
) -> dict[str, Any]:
    upgrade("knowledge", url)
    engine = create_engine(url)
    result: dict[str, Any] = {}
    loaded = 0
    try:
        for size in sizes:
            load_seconds = load(engine, entries[loaded:size], first_id=loaded + 1)
            loaded = size
            result[str(size)] = {"load_seconds": round(load_seconds, 1), **measure(engine, repeats)}
    finally:
        engine.dispose()
    small, large = (result[str(size)] for size in sizes)
    result["p50_ratio"] = round(large["p50_ms"] / small["p50_ms"], 2)
    result["p99_ratio"] = round(large["p99_ms"] / small["p99_ms"], 2)
    result["goal_met"] = result["p50_ratio"] <= GOAL_RATIO and result["p99_ratio"] <= GOAL_RATIO
    return result


def fresh_postgres(database: str = PG_DATABASE) -> str | None:
    """The URL of an empty ``database`` (``crm_bench_knowledge``), or None if the server does not answer."""
    server = make_url(PG_SERVER).set(database="postgres")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    except Exception as exc:  # no server: report it, bench SQLite anyway
        print(f"bench_knowledge: PostgreSQL skipped ({exc.__class__.__name__}: {exc})")
        return None
    finally:
        admin.dispose()
    return make_url(PG_SERVER).set(database=database).render_as_string(hide_password=False)


def run(results_dir: Path, quick: bool = False) -> dict:
    """Benchmark search on both backends; writes ``knowledge.json`` and ``knowledge.md``.
    ``quick``: a few hundred entries on a database of its own (the suite's check that it works)."""
    sizes, repeats = (QUICK_SIZES, QUICK_REPEATS) if quick else (SIZES, REPEATS)
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    entries = generate(max(sizes))
    segment_seconds = segment_all(entries)
    result: dict[str, Any] = {
        "quick": quick,
        "sizes": list(sizes),
        "queries": len(QUERIES),
        "repeats": repeats,
        "segment_seconds_largest": round(segment_seconds, 1),
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-knowledge-") as scratch:
        result["backends"]["sqlite"] = bench_backend(
            f"sqlite:///{scratch}/knowledge.db", entries, sizes, repeats
        )
    pg_url = fresh_postgres(unique_name(PG_DATABASE) if quick else PG_DATABASE)
    if pg_url:
        result["backends"]["postgresql"] = bench_backend(pg_url, entries, sizes, repeats)
        if quick:
            drop_database(pg_url)
    result["goals"] = [
        goal(
            f"search {ratio} at {sizes[1]:,} ÷ at {sizes[0]:,} entries, {backend}",
            f"≤ {GOAL_RATIO:g}",
            numbers[f"{ratio}_ratio"],
            numbers[f"{ratio}_ratio"] <= GOAL_RATIO,
        )
        for backend, numbers in result["backends"].items()
        for ratio in ("p50", "p99")
    ]
    result["machine_load"] = machine_load()
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    (results_dir / "knowledge.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    (results_dir / "knowledge.md").write_text(report(result))
    return result


def report(result: dict[str, Any]) -> str:
    lines = [
        "# Knowledge search",
        "",
        f"{len(QUERIES)} queries × {result['repeats']} rounds per size (first page of 20, with highlights); "
        f"goal: the larger size within {GOAL_RATIO:g}× of the smaller. "
        f"Corpus segmented in {result['segment_seconds_largest']} s.",
        "",
        "| backend | entries | load s | p50 ms | p99 ms | mean ms |",
        "|---|---|---|---|---|---|",
    ]
    for backend, numbers in result["backends"].items():
        for size in result["sizes"]:
            row = numbers[str(size)]
            lines.append(
                f"| {backend} | {size:,} | {row['load_seconds']} | {row['p50_ms']} | {row['p99_ms']} | {row['mean_ms']} |"
            )
    lines.append("")
    for backend, numbers in result["backends"].items():
        verdict = "met" if numbers["goal_met"] else "NOT met"
        lines.append(
            f"- {backend}: larger/smaller p50 × {numbers['p50_ratio']}, p99 × {numbers['p99_ratio']} — goal {verdict}"
        )
    load = result["machine_load"]
    lines += [
        "",
        "## Goals",
        "",
        goals_markdown(result["goals"]),
        f"Load average {load['load_average']} on {load['cpus']} cores (shared with other work) at the end.",
    ]
    lines.append(f"\nTotal {result['total_seconds']} s.\n")
    return "\n".join(lines)


if __name__ == "__main__":
    outcome = run(Path(__file__).resolve().parent / "results")
    print(json.dumps(outcome, ensure_ascii=False, indent=2))
