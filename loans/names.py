"""How a person's name is written: the one definition behind User.get_full_name, every page, every
notification and every export. Pure: no database.

Chinese (and Japanese and Korean) write the family name first with no space: 张伟, not "伟 张".
Other names are written "First Last". A name with either part in those scripts takes the first way.
"""

from __future__ import annotations

import re

# Han ideographs (with extensions A-F and the compatibility block), kana and Hangul.
_FAMILY_NAME_FIRST = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ebef]"
)


def writes_family_name_first(text: str) -> bool:
    return bool(_FAMILY_NAME_FIRST.search(text))


def person_name(first_name: str, last_name: str) -> str:
    """张伟 for first name 伟 and last (family) name 张; "Wei Zhang" for Wei and Zhang."""
    first, last = (first_name or "").strip(), (last_name or "").strip()
    if writes_family_name_first(first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)
