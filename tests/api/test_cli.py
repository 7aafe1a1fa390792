"""`skuflow api keys create|list|revoke` (and the `api-key` alias) against the store the API
reads: a created key works once printed, a revoked one gets 401."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app
from tests.api.conftest import assert_error, start_api

runner = CliRunner()


def test_keys_create_list_revoke(tmp_path, monkeypatch) -> None:
    from catalog.settings import reload_settings

    store = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("SKUFLOW_DATABASE_URL", store)
    reload_settings()

    created = runner.invoke(
        app, ["api", "keys", "create", "--organization", "acme", "--name", "ci"]
    )
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("sk_")
    lookup_id = token.split("_")[1]
    listed = runner.invoke(app, ["api-key", "list", "--org", "acme"])
    assert listed.exit_code == 0 and lookup_id in listed.output and token not in listed.output

    api, server = start_api(store, tmp_path)
    try:
        client = api.client(key=token)
        assert client.get("/v1/auto-enrichment/config").status_code == 200
        revoked = runner.invoke(app, ["api", "keys", "revoke", lookup_id, "--org", "acme"])
        assert revoked.exit_code == 0, revoked.output
        assert_error(client.get("/v1/auto-enrichment/config"), 401)
    finally:
        server.stop()
    unknown = runner.invoke(app, ["api", "keys", "revoke", "nope", "--org", "acme"])
    assert unknown.exit_code != 0


def test_api_help_names_host_and_port() -> None:
    shown = runner.invoke(app, ["api", "--help"])
    assert shown.exit_code == 0
    assert "--host" in shown.output and "--port" in shown.output and "keys" in shown.output
