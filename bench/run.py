"""Run the benchmarks: `make bench`, or `python bench/run.py [--only NAME ...] [--quick]`.

Needs PostgreSQL (DATABASE_URL); the database is created and migrated if missing. Every figure
is printed next to a reference measured in the same run and saved to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "npl_recovery.settings")
os.environ.setdefault("DATABASE_POOL", "0")
# The development setup (no HTTPS redirect, static files without collectstatic); the settings
# default DEBUG to off, and a benchmark that needs it off sets settings.DEBUG itself.
os.environ.setdefault("DEBUG", "1")
# Benchmarks call services and tasks in-process; the worker path is covered by the tests.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

# Order matters: the 1,000,000-loan book is built once and shared; import replaces it, so it is last.
ORDER = ["reclassify", "queue", "daily_checks", "import"]


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", help="benchmark names (bench_<name>.py)")
    parser.add_argument("--quick", action="store_true", help="smaller books, for a smoke run")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("make bench needs PostgreSQL: set BENCH_DATABASE_URL / DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False, skip_checks=True)

    from bench.common import BenchContext

    available = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    names = [n for n in ORDER if n in available] + [n for n in available if n not in ORDER]
    if args.only:
        unknown = set(args.only) - set(available)
        if unknown:
            print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(available)}", file=sys.stderr)
            return 2
        names = [n for n in names if n in args.only]
    ctx = BenchContext(quick=args.quick)
    failed = []
    for name in names:
        ctx.bench = name
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"bench.bench_{name}").run(ctx)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"== {name} done in {time.perf_counter() - started:.1f} s", flush=True)
    path = ctx.save()
    print(f"\nSummary (saved to {path.relative_to(ROOT)}):")
    for f in ctx.figures:
        ratio = f" ratio {f.ratio:.2f}x" if f.ratio is not None else ""
        secs = f"{f.seconds:.3f} s" if f.seconds is not None else ""
        extra = " ".join(f"{k}={v}" for k, v in f.extra.items() if k != "plan")
        print(f"  {f.bench:14} {f.name:45} {secs:>10}{ratio} {f.target} {extra}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
