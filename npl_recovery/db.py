"""Small database helpers shared by the set-based services."""

from __future__ import annotations

from django.db import connection

# Rows written in one go past which the planner's statistics are refreshed at once.
BULK_ANALYZE_THRESHOLD = 10_000


def analyze_after_bulk_write(*tables: str, rows: int) -> bool:
    """ANALYZE `tables` after a set-based write of `rows` rows (PostgreSQL only).

    The next statements of the same job (the daily checks chain one set-based step into the next)
    would otherwise plan on statistics from before the write: autovacuum comes later, or, as on
    some installations, not at all. Returns whether it ran.
    """
    if connection.vendor != "postgresql" or rows < BULK_ANALYZE_THRESHOLD:
        return False
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return True
