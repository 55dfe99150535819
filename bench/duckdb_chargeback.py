"""The peer: the chargeback of an EA-layout export, written as a hand-written DuckDB script would be.

Reads the CSV, parses the tags, attributes each row to a workspace of bench/peer.toml by resource id, workspace tag,
resource name and resource group (first match wins), gives shared-workspace rows to the member named by the team tag
or to the pool, splits the pool in proportion to the members' direct spend, and sums per month, currency and team.
Prints one JSON object: {"month|currency|team": "total", ...}.

    python bench/duckdb_chargeback.py EXPORT.csv        # or EXPORT.csv.gz, 'FOLDER/*.csv', EXPORT.parquet

DuckDB reads `.csv.gz` and globs of part files itself; Parquet costs (DOUBLE) are read through their shortest text,
as mlspend reads them.
"""
import json
import sys

import duckdb

SQL = r"""
CREATE TEMP TABLE ws AS SELECT * FROM (VALUES
  ('mlw-vision', 'team', 'vision'), ('mlw-nlp', 'team', 'nlp'), ('mlw-churn', 'project', 'growth'),
  ('mlw-pricing', 'project', 'growth'), ('mlw-fraud', 'project', 'risk'), ('mlw-research', 'shared', NULL)
) t(name, topology, team);
CREATE TEMP TABLE members AS SELECT * FROM (VALUES
  ('mlw-research', 'vision'), ('mlw-research', 'nlp'), ('mlw-research', 'growth')
) t(ws, team);
CREATE TEMP TABLE rgs AS SELECT * FROM (VALUES
  ('rg-vision-ml', 'mlw-vision'), ('rg-churn-ml', 'mlw-churn'), ('rg-pricing-ml', 'mlw-pricing'),
  ('rg-fraud-ml', 'mlw-fraud'), ('rg-research-ml', 'mlw-research')
) t(rg, ws);
CREATE TEMP TABLE res AS SELECT * FROM (VALUES
  ('stnlpml', 'mlw-nlp'), ('kv-nlp', 'mlw-nlp'), ('acrnlpml', 'mlw-nlp'), ('appi-nlp', 'mlw-nlp'), ('log-nlp', 'mlw-nlp')
) t(res, ws);

CREATE TEMP TABLE owned AS
WITH src AS (
  SELECT strftime(strptime("Date", '%m/%d/%Y'), '%Y-%m') AS month,
         BillingCurrencyCode AS currency,
         CAST(CAST(CostInBillingCurrency AS VARCHAR) AS DECIMAL(38, 10)) AS cost,
         lower(ResourceId) AS rid, lower(ResourceName) AS rname, lower(ResourceGroup) AS rg,
         lower(ConsumedService) AS cs, lower(Tags) AS tags
  FROM {source}
), attributed AS (
  SELECT s.month, s.currency, s.cost,
         COALESCE(wa.name, wb.name, rc.ws, rd.ws) AS ws,
         (s.cs = 'microsoft.machinelearningservices'
          OR s.rid LIKE '%/providers/microsoft.machinelearningservices/%') AS is_ml,
         regexp_extract(s.tags, '"team": "([^"]*)"', 1) AS team_tag
  FROM src s
  LEFT JOIN ws wa ON wa.name = regexp_extract(s.rid, '/providers/microsoft\.machinelearningservices/workspaces/([^/]+)', 1)
  LEFT JOIN ws wb ON wb.name = regexp_extract(s.tags, '"aml-workspace": "([^"]*)"', 1)
  LEFT JOIN res rc ON rc.res = s.rname
  LEFT JOIN rgs rd ON rd.rg = s.rg
)
SELECT a.month, a.currency, a.cost, a.ws, w.topology,
       CASE WHEN a.ws IS NULL THEN CASE WHEN a.is_ml THEN '(unallocated)' ELSE '(out-of-scope)' END
            WHEN w.topology <> 'shared' THEN w.team
            WHEN m.team IS NOT NULL THEN m.team
            ELSE '(pool)' END AS owner
FROM attributed a
LEFT JOIN ws w ON w.name = a.ws
LEFT JOIN members m ON m.ws = a.ws AND m.team = a.team_tag;

WITH direct AS (
  SELECT month, currency, ws, owner AS team, SUM(cost) AS spend
  FROM owned WHERE topology = 'shared' AND owner <> '(pool)' GROUP BY ALL
), pool AS (
  SELECT month, currency, ws, SUM(cost) AS pool FROM owned WHERE owner = '(pool)' GROUP BY ALL
), weights AS (
  SELECT p.month, p.currency, p.ws, m.team, greatest(coalesce(d.spend, 0), 0) AS w, p.pool
  FROM pool p JOIN members m ON m.ws = p.ws
  LEFT JOIN direct d ON d.month = p.month AND d.currency = p.currency AND d.ws = p.ws AND d.team = m.team
), shares AS (
  SELECT month, currency, team,
         CASE WHEN SUM(w) OVER g = 0 THEN pool / COUNT(*) OVER g
              ELSE CAST(pool AS DOUBLE) * CAST(w AS DOUBLE) / CAST(SUM(w) OVER g AS DOUBLE) END AS cost
  FROM weights WINDOW g AS (PARTITION BY month, currency, ws)
)
SELECT month, currency, team, SUM(cost) AS total FROM (
  SELECT month, currency, owner AS team, CAST(cost AS DOUBLE) AS cost FROM owned WHERE owner <> '(pool)'
  UNION ALL
  SELECT month, currency, team, cost FROM shares
) GROUP BY ALL ORDER BY ALL;
"""


def main() -> None:
    con = duckdb.connect()
    path = sys.argv[1]
    if path.endswith(".parquet"):
        source = "read_parquet($file)"
    else:
        source = "read_csv($file, header = true, all_varchar = true)"
    statements = [s for s in SQL.replace("{source}", source).split(";") if s.strip()]
    for s in statements[:-1]:
        con.execute(s, {"file": path} if "$file" in s else None)
    rows = con.execute(statements[-1]).fetchall()
    print(json.dumps({f"{m}|{c}|{t}": f"{total:.6f}" for m, c, t, total in rows}, sort_keys=True))


if __name__ == "__main__":
    main()
