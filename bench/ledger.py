"""The ledger benchmark: `mlspend sql` against DuckDB, the same query over the same Hive-partitioned Parquet files.

    python3 bench/ledger.py [--rows-per-month 2000000] [--months 12] [--runs 3] [--query SQL]
    python3 bench/ledger.py --rows-per-month 10000000 --months 12 --runs 1 --history   # the year of 10M-row months

Sets itself up from nothing, like bench/peer.py: builds mlspend in release mode, installs DuckDB into a virtual
environment under target/, and for each month generates an EA export of rows-per-month rows (narrow rows) with
`mlspend generate` and runs `mlspend run` on it, which adds the month to the ledger
(target/bench/ledger-<rows>x<months>/ledger, kept between runs).
Then it checks that both engines give the same result, to the cent, and times them side by side, alternating run
after run; each run's wall time, CPU time and peak memory are measured as in peer.py (RssAnon: heap and other
anonymous memory, polled every 10 ms; VmHWM: peak resident size). DuckDB runs in a fresh Python process per run, as
mlspend does; the time Python takes to start and import duckdb is measured too, and printed, so it can be taken off.
With --history it also times `mlspend history` over the same ledger.
"""
import argparse
import csv
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer import DATA, MLSPEND, ROOT, VENV, measure, setup  # noqa: E402

QUERY = (
    "select billing_month, x_Team, sum(EffectiveCost) as cost, count(*) as n "
    "from allocated group by billing_month, x_Team order by billing_month, x_Team"
)

DUCKDB = """
import sys, duckdb
ledger, query = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.sql(f"create view allocated as select * from read_parquet('{ledger}/allocated/*/*.parquet', hive_partitioning = true, hive_types = {{'billing_month': varchar}})")
con.sql(f"create view chargeback as select * from read_parquet('{ledger}/chargeback/*/*.parquet', hive_partitioning = true, hive_types = {{'billing_month': varchar}})")
for row in con.sql(query).fetchall():
    print("\\t".join("" if v is None else str(v) for v in row))
"""


def ledger_for(rows_per_month: int, months: int) -> Path:
    """Runs mlspend month by month, as a user does, on a generated export of each month (deleted after its run, so a
    year of 10M-row months needs no more than one month's CSV on disk); returns the ledger folder."""
    name = f"ledger-{rows_per_month}x{months}"
    out = DATA / name
    ledger = out / "ledger"
    done = ledger / "allocated"
    have = len(list(done.iterdir())) if done.is_dir() else 0
    year, month = 2025, 11
    for i in range(months):
        label = f"{year:04}-{month:02}"
        if not (done / f"billing_month={label}").is_dir() or have < months:
            export = DATA / f"{name}-{label}.csv"
            subprocess.run(
                [str(MLSPEND), "generate", "--out", str(export), "--rows", str(rows_per_month), "--months", "1",
                 "--start", label, "--seed", str(42 + i), "--narrow"],
                cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
            )
            run = measure([str(MLSPEND), "run", "--quiet", "--config", "bench/peer.toml", "--out", str(out),
                           str(export)])
            print(f"  run {label}: {run['wall']:.1f} s, peak RssAnon {run['anon']:.0f} MiB", file=sys.stderr)
            export.unlink()
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return ledger


def cents(text: str) -> int:
    text = text.strip()
    neg = text.startswith("-")
    digits = text.lstrip("-")
    whole, _, frac = digits.partition(".")
    value = int(whole or "0") * 10**18 + int((frac + "0" * 18)[:18] or "0")
    return -value if neg else value


def rows_of(text: str, sep) -> list:
    out = []
    for line in text.strip().splitlines():
        cells = line.split(sep) if sep else line.split()
        out.append(tuple(cells))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows-per-month", type=int, default=2_000_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--query", default=QUERY)
    ap.add_argument("--history", action="store_true")
    ap.add_argument("--binary", help="an mlspend binary to measure instead of building target/release/mlspend")
    args = ap.parse_args()
    global MLSPEND
    if args.binary:
        MLSPEND = Path(args.binary)
        subprocess.run(["true"])  # DuckDB's environment is still set up below
        setup(build=False)
    else:
        setup()
    ledger = ledger_for(args.rows_per_month, args.months)
    python = str(VENV / "bin" / "python")
    m_cmd = [str(MLSPEND), "sql", "--ledger", str(ledger), args.query]
    d_cmd = [python, "-c", DUCKDB, str(ledger), args.query]
    # The same answer: every row, the cost to 18 decimals.
    check = DATA / "ledger-check.csv"
    measure([str(MLSPEND), "sql", "--ledger", str(ledger), "--out", str(check), args.query])
    with open(check, newline="") as f:
        m_rows = [tuple(r) for r in csv.reader(f)][1:]
    d_rows = rows_of(measure(d_cmd)["stdout"], "\t")
    if args.query == QUERY:
        m_norm = sorted((r[0], r[1], cents(r[2]), int(r[3])) for r in m_rows)
        d_norm = sorted((r[0], r[1], cents(r[2]), int(r[3])) for r in d_rows)
        if m_norm != d_norm:
            sys.exit(f"mlspend and DuckDB disagree:\n{m_norm[:5]}\n{d_norm[:5]}")
        print(f"same result: {len(m_norm)} groups, {sum(r[3] for r in m_norm)} rows")
    runs = {"mlspend": [], "duckdb": [], "import": []}
    for _ in range(args.runs):
        runs["mlspend"].append(measure(m_cmd))
        runs["duckdb"].append(measure(d_cmd))
        runs["import"].append(measure([python, "-c", "import duckdb"]))
    med = lambda k, f: statistics.median(r[f] for r in runs[k])  # noqa: E731
    for k in ("mlspend", "duckdb"):
        print(f"{k:8} wall {med(k, 'wall'):6.2f} s  cpu {med(k, 'cpu') / med(k, 'wall') * 100:4.0f}%  "
              f"peak RssAnon {med(k, 'anon'):6.0f} MiB  VmHWM {med(k, 'hwm'):6.0f} MiB")
    print(f"python + import duckdb alone: {med('import', 'wall'):.2f} s")
    print(f"mlspend / DuckDB: {med('mlspend', 'wall') / med('duckdb', 'wall'):.2f}x "
          f"({med('mlspend', 'wall') / (med('duckdb', 'wall') - med('import', 'wall')):.2f}x against DuckDB's query alone)")
    if args.history:
        h = [measure([str(MLSPEND), "history", "--ledger", str(ledger), "--out", str(DATA / "history"),
                      "--config", "bench/peer.toml"]) for _ in range(args.runs)]
        print(f"history  wall {statistics.median(r['wall'] for r in h):6.2f} s  "
              f"peak RssAnon {statistics.median(r['anon'] for r in h):6.0f} MiB  "
              f"VmHWM {statistics.median(r['hwm'] for r in h):6.0f} MiB")


if __name__ == "__main__":
    main()
