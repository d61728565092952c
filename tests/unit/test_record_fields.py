"""records.fields.FIELDS mirrors the dataclasses of records.model, and a document (what
the read-only commands read) has exactly the fields, defaults and checks of its record."""

from __future__ import annotations

import dataclasses

import pytest

from pynet.records import fields, model

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", sorted(fields.FIELDS))
def test_the_table_names_every_field_of_the_dataclass(name: str) -> None:
    want = []
    for f in dataclasses.fields(getattr(model, name)):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory
        else:
            default = fields.REQUIRED
        want.append((f.name, str(f.type), default))
    assert list(fields.FIELDS[name]) == want


def test_every_stored_record_class_is_in_the_table() -> None:
    assert set(fields.FIELDS) == {"IPAMPool", "Network", "Endpoint", "PortBinding", "Container"}


def _net() -> dict:
    return {
        "id": "a" * 64,
        "name": "n",
        "driver": "bridge",
        "created": "2026-01-01T00:00:00Z",
        "ipam_config": [{"subnet": "10.0.0.0/24", "gateway": "10.0.0.1"}],
        "unknown": 1,
    }


def test_a_document_has_the_records_fields_and_defaults() -> None:
    doc = fields.document("Network", _net())
    rec = model.from_dict(model.Network, _net())
    assert vars(doc) == {k: v for k, v in vars(rec).items() if k != "ipam_config"} | {"ipam_config": doc.ipam_config}
    assert [vars(p) for p in doc.ipam_config] == [vars(p) for p in rec.ipam_config]
    assert doc.labels == {} and doc.labels is not fields.document("Network", _net()).labels


@pytest.mark.parametrize(
    "change",
    [{"name": 5}, {"labels": {"a": 1}}, {"ipam_config": [{"gateway": "x"}]}, {"ipam_config": "x"}, {"id": None}],
)
def test_a_bad_field_is_the_same_error_for_a_document_and_a_record(change: dict) -> None:
    data = _net() | change
    with pytest.raises(fields.RecordInvalid) as want:
        model.from_dict(model.Network, data)
    with pytest.raises(fields.RecordInvalid) as got:
        fields.document("Network", data)
    assert str(got.value) == str(want.value)
