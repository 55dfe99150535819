"""The peer benchmark: mlspend against a hand-written DuckDB script, on the same export, in the same run.

    python3 bench/peer.py --rows 10000000 [--runs 3] [--format csv|csv.gz|parquet]

Sets itself up from nothing: builds mlspend in release mode, installs DuckDB with pip into a virtual environment
under target/, and generates an EA-layout export of N rows (one month, amortized) with `mlspend generate` into
target/bench/ (kept between runs). Then it checks that both compute the same chargeback (the total of every month,
currency and team, to the cent), and times them side by side, alternating mlspend and DuckDB run after run, each
run's wall time and peak memory measured the same way: the process is polled every 10 ms for its anonymous resident
memory (RssAnon: heap, not the page cache of memory-mapped input) and its peak resident size (VmHWM). It prints the
medians and the ratio mlspend / DuckDB.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
VENV = ROOT / "target" / "bench-venv"
DATA = ROOT / "target" / "bench"
MLSPEND = TARGET / "release" / "mlspend"


def setup(rows: int, fmt: str) -> Path:
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if subprocess.run([str(python), "-c", "import duckdb"], capture_output=True).returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "duckdb"], check=True)
    DATA.mkdir(parents=True, exist_ok=True)
    ext = {"csv": "csv", "csv.gz": "csv.gz", "parquet": "parquet"}[fmt]
    export = DATA / f"ea-amortized-{rows}.{ext}"
    if not export.exists():
        tmp = export.with_name("partial-" + export.name)
        subprocess.run(
            [str(MLSPEND), "generate", "--out", str(tmp), "--rows", str(rows), "--months", "1",
             "--start", "2026-09", "--layout", "ea", "--format", fmt, "--seed", "7"],
            check=True, capture_output=True,
        )
        tmp.rename(export)
    return export


def measure(cmd: list, out_path: Path = None) -> dict:
    """Runs cmd, polling /proc for its memory; returns wall seconds, peak RssAnon and VmHWM in MiB, and stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_anon = peak_hwm = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("RssAnon:"):
                    peak_anon = max(peak_anon, int(line.split()[1]))
                elif line.startswith("VmHWM:"):
                    peak_hwm = max(peak_hwm, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        time.sleep(0.01)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{err.decode()}")
    return {"wall": wall, "anon": peak_anon / 1024, "hwm": peak_hwm / 1024, "stdout": out.decode()}


def mlspend_cmd(export: Path) -> list:
    return [str(MLSPEND), "run", "--config", str(ROOT / "data" / "sample.toml"), "--out", str(DATA / "reports"),
            str(export)]


def duckdb_cmd(export: Path) -> list:
    return [str(VENV / "bin" / "python"), str(ROOT / "bench" / "duckdb_chargeback.py"), str(export)]


def mlspend_totals() -> dict:
    totals = {}
    for summary in sorted((DATA / "reports").glob("*/summary.json")):
        s = json.loads(summary.read_text())
        for c in s["currencies"]:
            for t in c["teams"]:
                totals[f"{s['billing_month']}|{c['currency']}|{t['team']}"] = t["total_exact"]
    return totals


def cents(text: str) -> int:
    from decimal import Decimal, ROUND_HALF_UP
    return int((Decimal(text) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--format", default="csv", choices=["csv", "csv.gz", "parquet"])
    args = ap.parse_args()
    export = setup(args.rows, args.format)
    size = export.stat().st_size
    if args.format != "csv":
        print(f"note: the DuckDB script reads CSV only; timing mlspend alone on {args.format}")

    # Same chargeback: every (month, currency, team) total to the cent.
    m = measure(mlspend_cmd(export))
    ours = {k: cents(v) for k, v in mlspend_totals().items()}
    if args.format == "csv":
        d = measure(duckdb_cmd(export))
        theirs = {k: cents(v) for k, v in json.loads(d["stdout"]).items()}
        if ours != theirs:
            diff = {k: (ours.get(k), theirs.get(k)) for k in sorted(set(ours) | set(theirs)) if ours.get(k) != theirs.get(k)}
            sys.exit(f"the chargebacks differ (cents, mlspend vs DuckDB): {diff}")
        print(f"same chargeback: {len(ours)} (month, currency, team) totals agree to the cent")

    runs = {"mlspend": [], "duckdb": []}
    for _ in range(args.runs):
        runs["mlspend"].append(measure(mlspend_cmd(export)))
        if args.format == "csv":
            runs["duckdb"].append(measure(duckdb_cmd(export)))

    def med(name, key):
        return statistics.median(r[key] for r in runs[name])

    print(f"rows {args.rows:,}  input {size / 2**20:,.0f} MiB ({args.format})  runs {args.runs}, alternating")
    print(f"{'':8} {'median wall s':>14} {'peak heap MiB':>14} {'peak RSS MiB':>13}")
    for name in ("mlspend", "duckdb"):
        if runs[name]:
            print(f"{name:8} {med(name, 'wall'):14.2f} {med(name, 'anon'):14.0f} {med(name, 'hwm'):13.0f}")
    if runs["duckdb"]:
        ratios = [a["wall"] / b["wall"] for a, b in zip(runs["mlspend"], runs["duckdb"])]
        print(f"ratio mlspend / DuckDB (median of alternating pairs): {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
