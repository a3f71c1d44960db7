"""How fast is a CSV import? Prints rows/s (median of runs) and peak RSS.

    python bench/import.py                      # SQLite, 100,000 rows, 3 runs
    python bench/import.py --rows 10000 --runs 5
    python bench/import.py --database postgresql://postgres@127.0.0.1:5432/postgres

Each run imports into a new, empty database (a temp SQLite file, or a fresh schema on the
PostgreSQL server), through the same library function that `newsletter subscribers import` calls.
Goal (issue 3): >= 50,000 rows/s on SQLite on a 2-core machine.
"""

from __future__ import annotations

import argparse
import resource
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from newsletter import db, imports
from newsletter.suppression import SuppressionList


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name\n")
        for i in range(rows):
            domain = ("gmail.com", "yahoo.com", "example.org", f"corp{i % 500}.example.com")[i % 4]
            out.write(f"first.last{i}@{domain},Person {i}\n")


def one_run(url: str, csv_path: Path) -> float:
    engine = db.make_engine(url)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    start = time.perf_counter()
    with db.transaction(factory) as session:
        report = imports.import_file(session, SuppressionList(["bench-key"]), csv_path)
    elapsed = time.perf_counter() - start
    engine.dispose()
    if report.errors or not report.added:
        raise SystemExit(f"import went wrong: {report}")
    return report.added / elapsed


def pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(db.make_engine(base).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(base: str, schema: str) -> None:
    admin = create_engine(db.make_engine(base).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--database", default="", help="a PostgreSQL URL; default: a temp SQLite file"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "list.csv"
        make_csv(csv_path, args.rows)
        rates = []
        for run in range(args.runs):
            if args.database:
                url, schema = pg_schema_url(args.database)
                try:
                    rates.append(one_run(url, csv_path))
                finally:
                    drop_schema(args.database, schema)
            else:
                rates.append(one_run(f"sqlite:///{Path(tmp) / f'run{run}.db'}", csv_path))
    backend = "postgresql" if args.database else "sqlite"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend={backend} rows={args.rows} runs={args.runs}")
    print(
        f"rows/s median={statistics.median(rates):,.0f} min={min(rates):,.0f} max={max(rates):,.0f}"
    )
    print(f"peak RSS={peak_mb:.0f} MB (whole process, CSV generation included)")


if __name__ == "__main__":
    sys.exit(main())
