"""The peer benchmark: mlspend against a hand-written DuckDB script, on the same export, in the same run.

    python3 bench/peer.py --rows 2000000 [--runs 3] [--format csv|csv.gz|parquet] [--crlf] [--parts N] [--narrow]
    python3 bench/peer.py --rows 2000000 --shapes       # every shape in turn, one table row each

Sets itself up from nothing: builds mlspend in release mode, installs DuckDB with pip into a virtual environment
under target/, and generates an EA-layout export of N rows (one month, amortized) with `mlspend generate` into
target/bench/ (kept between runs). The shape of the export:
  --format     csv (default), csv.gz or parquet
  --crlf       CRLF line endings, as portal downloads and many exports have
  --parts N    a folder of N part files instead of one file, as Azure's partitioned exports are
  --narrow     rows of ~400 bytes (the descriptive columns left empty) instead of ~800
  --threads N  mlspend's --threads (DuckDB uses every core)
Then it checks that both compute the same chargeback (the total of every month, currency and team, to the cent),
and times them side by side, alternating mlspend and DuckDB run after run, each run's wall time, CPU time and peak
memory measured the same way: the process is polled every 10 ms for its anonymous resident memory (RssAnon: heap,
not the page cache of memory-mapped input) and its peak resident size (VmHWM); CPU is the child's user + system
time over its wall time (200% = both cores busy). It prints the medians and the ratio mlspend / DuckDB.
"""
import argparse
import json
import os
import resource
import shutil
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

# The shapes of --shapes: (label, format, crlf, parts, narrow).
SHAPES = [
    ("one LF file", "csv", False, 0, False),
    ("one CRLF file", "csv", True, 0, False),
    ("20-part folder", "csv", False, 20, False),
    ("narrow rows, CRLF", "csv", True, 0, True),
    ("20 csv.gz parts", "csv.gz", False, 20, False),
    ("Parquet", "parquet", False, 0, False),
]


def setup(build: bool = True) -> None:
    if build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if subprocess.run([str(python), "-c", "import duckdb"], capture_output=True).returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "duckdb"], check=True)
    DATA.mkdir(parents=True, exist_ok=True)


def export_for(rows: int, fmt: str, crlf: bool, parts: int, narrow: bool) -> Path:
    """Generates the export once (kept in target/bench/); returns the file or the folder of parts."""
    name = f"ea-amortized-{rows}" + ("-narrow" if narrow else "") + ("-crlf" if crlf else "")
    name += f"-{parts}parts" if parts else f".{fmt}"
    if parts:
        name += f"-{fmt}"
    export = DATA / name
    if not export.exists():
        tmp = export.with_name("partial-" + export.name)
        shutil.rmtree(tmp, ignore_errors=True)
        if tmp.is_file():
            tmp.unlink()
        # (no unused reservation rows: the DuckDB script does not split commitments, and the two must agree)
        cmd = [str(MLSPEND), "generate", "--out", str(tmp), "--rows", str(rows), "--months", "1",
               "--start", "2026-09", "--layout", "ea", "--format", fmt, "--seed", "7", "--no-unused-capacity"]
        cmd += ["--crlf"] if crlf else []
        cmd += ["--parts", str(parts)] if parts else []
        cmd += ["--narrow"] if narrow else []
        subprocess.run(cmd, check=True, capture_output=True)
        tmp.rename(export)
    return export


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.iterdir())
    return path.stat().st_size


def measure(cmd: list) -> dict:
    """Runs cmd, polling /proc for its memory; returns wall and CPU seconds, peak RssAnon and VmHWM in MiB, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{err.decode()}")
    return {"wall": wall, "cpu": cpu, "anon": peak_anon / 1024, "hwm": peak_hwm / 1024, "stdout": out.decode()}


def mlspend_cmd(export: Path, threads) -> list:
    cmd = [str(MLSPEND), "run", "--quiet", "--config", str(ROOT / "bench" / "peer.toml"), "--out",
           str(DATA / "reports"), str(export)]
    return cmd + (["--threads", str(threads)] if threads else [])


def duckdb_cmd(export: Path, fmt: str) -> list:
    source = str(export / f"*.{'csv.gz' if fmt == 'csv.gz' else fmt}") if export.is_dir() else str(export)
    if export.is_dir() and fmt == "parquet":
        source = str(export / "*.snappy.parquet")
    return [str(VENV / "bin" / "python"), str(ROOT / "bench" / "duckdb_chargeback.py"), source]


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


def bench(rows: int, runs: int, fmt: str, crlf: bool, parts: int, narrow: bool, threads, duckdb: bool) -> dict:
    export = export_for(rows, fmt, crlf, parts, narrow)
    shutil.rmtree(DATA / "reports", ignore_errors=True)
    # Same chargeback: every (month, currency, team) total to the cent.
    measure(mlspend_cmd(export, threads))
    ours = {k: cents(v) for k, v in mlspend_totals().items()}
    if duckdb:
        d = measure(duckdb_cmd(export, fmt))
        theirs = {k: cents(v) for k, v in json.loads(d["stdout"]).items()}
        if ours != theirs:
            diff = {k: (ours.get(k), theirs.get(k)) for k in sorted(set(ours) | set(theirs)) if ours.get(k) != theirs.get(k)}
            sys.exit(f"the chargebacks differ (cents, mlspend vs DuckDB): {diff}")
        print(f"same chargeback: {len(ours)} (month, currency, team) totals agree to the cent", file=sys.stderr)
    result = {"mlspend": [], "duckdb": [], "size": size_of(export)}
    for _ in range(runs):
        result["mlspend"].append(measure(mlspend_cmd(export, threads)))
        if duckdb:
            result["duckdb"].append(measure(duckdb_cmd(export, fmt)))
    return result


def med(runs: list, key: str) -> float:
    return statistics.median(r[key] for r in runs)


def ratio(result: dict) -> float:
    return statistics.median(a["wall"] / b["wall"] for a, b in zip(result["mlspend"], result["duckdb"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--format", default="csv", choices=["csv", "csv.gz", "parquet"])
    ap.add_argument("--crlf", action="store_true")
    ap.add_argument("--parts", type=int, default=0)
    ap.add_argument("--narrow", action="store_true")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--no-duckdb", action="store_true", help="time mlspend alone")
    ap.add_argument("--shapes", action="store_true", help="every shape in turn, as markdown table rows")
    args = ap.parse_args()
    setup()
    duckdb = not args.no_duckdb
    if args.shapes:
        print("| shape | rows | input | mlspend wall | CPU | DuckDB wall | CPU | mlspend / DuckDB "
              "| mlspend peak heap (RSS) | DuckDB peak heap (RSS) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, fmt, crlf, parts, narrow in SHAPES:
            r = bench(args.rows, args.runs, fmt, crlf, parts, narrow, args.threads, duckdb)
            m, d = r["mlspend"], r["duckdb"]
            cpu = lambda runs: f"{100 * med(runs, 'cpu') / med(runs, 'wall'):.0f}%"
            cells = [label, f"{args.rows:,}", f"{r['size'] / 2**20:,.0f} MiB", f"{med(m, 'wall'):.2f} s", cpu(m)]
            if d:
                cells += [f"{med(d, 'wall'):.2f} s", cpu(d), f"{ratio(r):.2f}"]
            else:
                cells += ["-", "-", "-"]
            cells.append(f"{med(m, 'anon'):.0f} MiB ({med(m, 'hwm'):.0f})")
            cells.append(f"{med(d, 'anon'):.0f} MiB ({med(d, 'hwm'):.0f})" if d else "-")
            print("| " + " | ".join(cells) + " |", flush=True)
        return

    r = bench(args.rows, args.runs, args.format, args.crlf, args.parts, args.narrow, args.threads, duckdb)
    shape = args.format + (", CRLF" if args.crlf else "") + (f", {args.parts} parts" if args.parts else "")
    shape += ", narrow rows" if args.narrow else ""
    print(f"rows {args.rows:,}  input {r['size'] / 2**20:,.0f} MiB ({shape})  runs {args.runs}, alternating")
    print(f"{'':8} {'median wall s':>14} {'CPU':>6} {'peak heap MiB':>14} {'peak RSS MiB':>13}")
    for name in ("mlspend", "duckdb"):
        if r[name]:
            cpu = 100 * med(r[name], "cpu") / med(r[name], "wall")
            print(f"{name:8} {med(r[name], 'wall'):14.2f} {cpu:5.0f}% {med(r[name], 'anon'):14.0f} "
                  f"{med(r[name], 'hwm'):13.0f}")
    if r["duckdb"]:
        print(f"ratio mlspend / DuckDB (median of alternating pairs): {ratio(r):.2f}")


if __name__ == "__main__":
    main()
