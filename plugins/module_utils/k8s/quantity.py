# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes resource quantities ('10Gi', '500M') as numbers, so sizes compare by value."""
from __future__ import annotations

_SUFFIXES = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
             "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}


def quantity_bytes(value):
    """'10Gi' -> 10737418240; None when it cannot be parsed."""
    if value is None:
        return None
    text = str(value).strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            try:
                return int(float(text[:-len(suffix)]) * _SUFFIXES[suffix])
            except ValueError:
                return None
    try:
        return int(float(text))
    except ValueError:
        return None


def normalize_quantity(value):
    """The number of a quantity, or the value as it is when it is not one (compared as text then)."""
    number = quantity_bytes(value)
    return number if number is not None else value
