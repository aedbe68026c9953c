"""`make bench`: run every bench/bench_<area>.py (or the areas named) and write bench/results/.

Each module has ``run(results_dir: Path) -> dict``; this writes the summaries to
``bench/results/summary.json``. Numbers on a shared 2-core machine are noisy: read the ratios
measured within one run, not the absolute times.
"""

import eventlet

eventlet.monkey_patch()

import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"


def main(argv: list[str]) -> int:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    areas = sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))
    chosen = [area for area in areas if not argv or area in argv]
    summary_path = RESULTS_DIR / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    failed = []
    for area in chosen:
        print(f"== bench {area}", flush=True)
        started = time.monotonic()
        try:
            result = importlib.import_module(f"bench.bench_{area}").run(RESULTS_DIR)
        except Exception:
            traceback.print_exc()
            failed.append(area)
            continue
        summary[area] = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - started, 1),
            "result": result,
        }
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str), flush=True)
    summary_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n")
    print(f"results in {RESULTS_DIR}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
