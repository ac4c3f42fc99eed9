"""DataTree lifecycle in the libyang adapter: top-level removal keeps the tree anchored, frees are single."""

from __future__ import annotations

import json

import pytest

from yang.libyang_adapter import SchemaContext

TWO_TOP = {"fx-net:network": {"port": [{"name": "e1"}, {"name": "e2"}]}, "fx-extra:extra": {"note": "hi"}}


def test_removing_the_first_top_level_node_keeps_its_siblings(fx: SchemaContext) -> None:
    with fx.parse(json.dumps(TWO_TOP)) as tree:
        assert tree.remove("/fx-net:network")
        assert json.loads(tree.print("json")) == {"fx-extra:extra": {"note": "hi"}}


def test_removing_the_last_top_level_node_leaves_an_empty_tree(fx: SchemaContext) -> None:
    with fx.parse(json.dumps(TWO_TOP)) as tree:
        assert tree.remove("/fx-extra:extra")
        assert tree.remove("/fx-net:network")
        assert tree.print("json") == "{}\n"
        assert not tree.remove("/fx-net:network")


def test_removing_a_nested_node_keeps_the_rest(fx: SchemaContext) -> None:
    with fx.parse(json.dumps(TWO_TOP)) as tree:
        assert tree.remove("/fx-net:network/port[name='e1']")
        assert json.loads(tree.print("json")) == {
            "fx-net:network": {"port": [{"name": "e2"}]},
            "fx-extra:extra": {"note": "hi"},
        }


def test_a_merged_tree_is_spent_and_a_freed_tree_cannot_be_used(fx: SchemaContext) -> None:
    tree = fx.empty()
    part = fx.parse(json.dumps(TWO_TOP))
    tree.merge(part)
    with pytest.raises(RuntimeError, match="already freed or merged"):
        part.print("json")
    part.free()  # no-op: the merge took its nodes
    assert json.loads(tree.print("json")) == TWO_TOP
    tree.free()
    tree.free()
    with pytest.raises(RuntimeError, match="already freed or merged"):
        tree.find("/fx-net:network")
