"""One standards suite over every connector block `connectors.block_types()` finds: Prefect's
block standards, skuflow's naming, and secrets kept as secrets. A new block is covered by
being defined, not by pasting another suite."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr

import connectors

BLOCKS = sorted(connectors.block_types().values(), key=lambda cls: cls.__name__)
SECRET_NAME = re.compile(r"password|secret|(^|_)token$|service_account_info")
"""Field names that hold a credential."""
NOT_SECRET = {("HttpsSource", "auth_secret")}
"""`auth_secret` names a saved Secret block; it is not the value."""


def _name(cls: type) -> str:
    return cls.__name__


class TestConnectorBlockStandards(BlockStandardTestSuite):
    @pytest.fixture(params=BLOCKS, ids=_name)
    def block(self, request: pytest.FixtureRequest) -> type[Block]:
        return request.param

    @pytest.mark.skip(reason="skuflow has no documentation site to link yet")
    def test_has_a_documentation_url(self, block: type[Block]) -> None: ...

    @pytest.mark.skip(reason="offline: no logo to fetch")
    def test_has_a_valid_image(self, block: type[Block]) -> None: ...


@pytest.mark.parametrize("block", BLOCKS, ids=_name)
def test_the_block_type_is_named_for_skuflow(block: type[Block]) -> None:
    assert block.get_block_type_slug().startswith("skuflow-")
    assert block.get_block_type_name().startswith("skuflow ")


@pytest.mark.parametrize("block", BLOCKS, ids=_name)
def test_credential_fields_are_secret(block: type[Block]) -> None:
    for name, field in block.model_fields.items():
        if not SECRET_NAME.search(name) or (block.__name__, name) in NOT_SECRET:
            continue
        kinds = typing.get_args(field.annotation) or (field.annotation,)
        assert SecretStr in kinds, f"{block.__name__}.{name} is {field.annotation}, not SecretStr"


def test_block_types_lists_every_block_class_the_package_defines() -> None:
    """Read from the source, so a module that fails to import (and is skipped) is noticed."""
    defined: set[str] = set()
    trees = [
        ast.parse(path.read_text(encoding="utf-8"))
        for path in Path(connectors.__file__).parent.glob("*.py")
    ]
    grew = True
    while grew:  # blocks may derive from other blocks
        before = len(defined)
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and any(
                    isinstance(base, ast.Name) and base.id in {"Block", *defined}
                    for base in node.bases
                ):
                    defined.add(node.name)
        grew = len(defined) > before
    assert defined == set(connectors.block_types())
    assert defined <= set(dir(connectors))
    assert all(getattr(connectors, name) is cls for name, cls in connectors.block_types().items())
