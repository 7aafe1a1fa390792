"""One settings entry point: every section is a `SkuflowSettings` read through `read_settings`."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from catalog.settings import SkuflowSettings, get_settings, read_settings, reload_settings
from tests.conftest import ROOT

PACKAGES = ["catalog", "llm", "taxonomy", "enrichment", "matching", "reports", "connectors"]
PACKAGES += ["tasks", "flows", "deployments", "api", "ui", "cli"]


def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
    }


def test_sections_derive_from_the_one_base_and_are_read_through_read_settings() -> None:
    sources = _sources()
    own_base = [p for p, text in sources.items() if re.search(r"\(BaseSettings\)", text)]
    assert own_base == ["catalog/settings.py"]
    sections = {
        name
        for text in sources.values()
        for name in re.findall(r"class (\w+)\(SkuflowSettings\)", text)
    }
    assert {"Settings", "LLMSettings", "SearchSettings", "OutboundSettings", "ApiSettings"} <= (
        sections
    )
    constructed = [
        f"{path}: {name}()"
        for path, text in sources.items()
        for name in sections
        if path != "catalog/settings.py" and re.search(rf"\b{name}\(\)", text)
    ]
    assert constructed == [], "read these with read_settings(Section)"
    environ = [
        p for p, text in sources.items() if re.search(r"environ(\.get)?\(?\[?\"SKUFLOW_", text)
    ]
    assert environ == [], "SKUFLOW_* variables are read by a settings section"


def test_a_section_is_kept_until_one_of_its_variables_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llm.client import LLMSettings

    monkeypatch.delenv("SKUFLOW_LLM_MODEL", raising=False)
    first = read_settings(LLMSettings)
    assert read_settings(LLMSettings) is first and first.model is None
    monkeypatch.setenv("SKUFLOW_LLM_MODEL", "local-model")
    assert read_settings(LLMSettings).model == "local-model"
    assert get_settings() is get_settings()
    reload_settings()
    assert read_settings(LLMSettings).model == "local-model"


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKUFLOW_BATCH_SIZE", "0")
    with pytest.raises(ValidationError, match="batch_size"):
        get_settings()


def test_every_section_reads_its_own_prefix() -> None:
    from api.settings import ApiSettings
    from catalog.outbound import OutboundSettings
    from enrichment.search import SearchSettings
    from llm.client import LLMSettings
    from ui.settings import UiSettings

    prefixes = {
        cls.__name__: cls.model_config["env_prefix"]
        for cls in (ApiSettings, OutboundSettings, SearchSettings, LLMSettings, UiSettings)
    }
    assert all(issubclass(cls, SkuflowSettings) for cls in (ApiSettings, UiSettings))
    assert len(set(prefixes.values())) == len(prefixes)
    assert all(p.startswith("SKUFLOW_") for p in prefixes.values())
