"""Fill zh-hans translations from a JSON object {msgid: msgstr} (or msgid|context keys) and clear fuzzy flags.

    python scripts/po_fill.py translations.json      # then: make messages
Translators may of course edit locale/zh_Hans/LC_MESSAGES/django.po directly; this is for batches.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polib

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def main(path: str) -> int:
    table: dict[str, object] = json.loads(Path(path).read_text(encoding="utf-8"))
    po = polib.pofile(str(PO), wrapwidth=0)
    filled = 0
    for entry in po:
        key = f"{entry.msgid}|{entry.msgctxt}" if entry.msgctxt else entry.msgid
        value = table.get(key, table.get(entry.msgid))
        if value is None:
            continue
        if entry.msgid_plural:
            forms = value if isinstance(value, list) else [value]
            entry.msgstr_plural = {i: forms[min(i, len(forms) - 1)] for i in range(max(1, len(entry.msgstr_plural)))}
        else:
            entry.msgstr = str(value)
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
            entry.previous_msgid = None
        filled += 1
    po.save(str(PO))
    missing = [e.msgid for e in po.untranslated_entries() if not e.obsolete]
    print(f"filled {filled}; still untranslated {len(missing)}")
    for msgid in missing[:50]:
        print("  ", msgid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
