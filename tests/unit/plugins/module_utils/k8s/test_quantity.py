"""Kubernetes quantities as numbers."""
import pytest

from ansible_collections.statefuldb.k8s.plugins.module_utils.k8s.quantity import normalize_quantity, quantity_bytes


@pytest.mark.parametrize("text,expected", [("1Gi", 2 ** 30), ("1024Mi", 2 ** 30), ("500M", 5 * 10 ** 8),
                                           ("12", 12), ("1.5Gi", int(1.5 * 2 ** 30)), ("lots", None)])
def test_quantity_bytes(text, expected):
    assert quantity_bytes(text) == expected


def test_normalize_quantity_keeps_what_is_not_a_quantity():
    assert normalize_quantity("2Gi") == normalize_quantity("2048Mi") == 2 ** 31
    assert normalize_quantity("lots") == "lots" and normalize_quantity(None) is None
