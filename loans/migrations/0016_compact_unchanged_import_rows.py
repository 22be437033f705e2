"""The unchanged rows that imports before 0015 recorded one by one become runs (ImportRowRun), as
imports now write them: the table held a record for every row of every daily file.

Batch by batch, each in its own transaction (the migration is not atomic): a batch's runs are
written and its unchanged records deleted together, so an interrupted migration leaves whole
batches done or untouched and can be run again. The runs are cut as loans/importing/outcomes.py
cuts them (at every gap, in blocks of 500 row numbers); this copy stays as it is when that module
changes."""

import json

from django.db import migrations, transaction

RUN_ROWS = 500


def _runs(rows):
    first = last = None
    keys = []
    for row_no, key in rows:
        if first is not None and (row_no != last + 1 or (row_no - 1) // RUN_ROWS != (first - 1) // RUN_ROWS):
            yield first, last, keys
            first, keys = None, []
        if first is None:
            first = row_no
        last = row_no
        keys.append(key)
    if first is not None:
        yield first, last, keys


def compact(apps, schema_editor):
    ImportRow = apps.get_model("loans", "ImportRow")
    ImportRowRun = apps.get_model("loans", "ImportRowRun")
    alias = schema_editor.connection.alias
    unchanged = ImportRow.objects.using(alias).filter(outcome="unchanged")
    pairs = unchanged.values_list("batch_id", "sheet").distinct().order_by("batch_id", "sheet")
    for batch_id, sheet in list(pairs):
        with transaction.atomic(using=alias):
            rows = unchanged.filter(batch_id=batch_id, sheet=sheet).order_by("row_no")
            ImportRowRun.objects.using(alias).bulk_create(
                [
                    ImportRowRun(
                        batch_id=batch_id,
                        sheet=sheet,
                        first_row_no=first,
                        last_row_no=last,
                        keys=json.dumps(keys, ensure_ascii=False),
                    )
                    for first, last, keys in _runs(rows.values_list("row_no", "key").iterator(chunk_size=5000))
                ],
                batch_size=1000,
            )
            rows.delete()


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("loans", "0015_import_row_runs"),
    ]

    operations = [migrations.RunPython(compact, migrations.RunPython.noop)]
