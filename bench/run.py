"""Run the benchmarks: `make bench`, or `python bench/run.py [--only NAME ...] [--quick] [--trials N]`.

Needs PostgreSQL (DATABASE_URL); the database is created and migrated if missing. Every
benchmark runs with DEBUG off, as in production. Each figure is the median over trials of its
ratio to a reference measured in the same trial; the figures of each benchmark are printed and
saved to bench/results/<name>.json (<name>-quick.json with --quick), which are kept in the repo.
"""

from __future__ import annotations

import argparse
import importlib
import os
import secrets
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import django
import psycopg
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "npl_recovery.settings")
os.environ.setdefault("DATABASE_POOL", "0")
# Benchmarks call services and tasks in-process; the worker path is covered by the tests.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# As in production: with DEBUG on Django keeps every statement it runs (bulk inserts are large),
# which costs time and memory that a bank's server does not spend. Child processes inherit it.
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("ALLOWED_HOSTS", "localhost,testserver")

# Order matters: the 1,000,000-loan book is built once and shared; import replaces it, so it is last.
ORDER = ["reclassify", "queue", "daily_checks", "dashboard", "import"]


def ensure_database(url: str) -> None:
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
    parser.add_argument("--quick", action="store_true", help="smaller books (100,000 loans), for a smoke run")
    parser.add_argument("--trials", type=int, default=3, help="trials per figure (default 3)")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("make bench needs PostgreSQL: set BENCH_DATABASE_URL / DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    ensure_database(url)

    django.setup()
    assert not settings.DEBUG, "benchmarks run with DEBUG off"
    call_command("migrate", verbosity=0, interactive=False, skip_checks=True)
    # DEBUG off serves hashed static files from the manifest, as in production (pages render {% static %}).
    call_command("collectstatic", verbosity=0, interactive=False)

    # The benchmark modules use the models: imported once django.setup() has run.
    from bench.common import BenchContext, describe, run_meta

    available = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    names = [n for n in ORDER if n in available] + [n for n in available if n not in ORDER]
    if args.only:
        unknown = set(args.only) - set(available)
        if unknown:
            print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(available)}", file=sys.stderr)
            return 2
        names = [n for n in names if n in args.only]
    ctx = BenchContext(quick=args.quick, trials=max(1, args.trials))
    failed = []
    for name in names:
        ctx.bench = name
        print(f"== {name}", flush=True)
        started_at, started = datetime.now().astimezone(), time.perf_counter()
        try:
            importlib.import_module(f"bench.bench_{name}").run(ctx)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        seconds = time.perf_counter() - started
        path = ctx.save(name, run_meta(ctx, name, started_at, seconds))
        print(f"== {name} done in {seconds:.1f} s, saved to {path.relative_to(ROOT)}", flush=True)
    print("\nSummary:")
    for f in ctx.figures:
        print("  " + describe(f))
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
