"""The Prefect UI that `skuflow serve` starts: it is told the API on the port the server listens
on, and its run form offers only the parameters a person chooses (not `run_id` or
`database_url`, which triggers and callers pass)."""

from __future__ import annotations

import httpx
import pytest
from prefect.client.orchestration import get_client

from deployments.serve import deployment_specs, runner_deployment
from tests.orchestration.conftest import Server

CALLERS_ONLY = {"run_id", "database_url"}


def test_the_ui_is_told_the_api_on_the_port_the_server_listens_on(
    prefect_server: Server,
) -> None:
    base = prefect_server.api_url.removesuffix("/api")
    assert not base.endswith(":4200")  # a free port, so a default of 4200 would show
    settings = httpx.get(f"{base}/ui-settings", timeout=10).json()
    assert settings["api_url"] == prefect_server.api_url
    assert httpx.get(f"{settings['api_url']}/health", timeout=10).status_code == 200


@pytest.mark.usefixtures("prefect_api")
def test_the_run_form_does_not_offer_callers_parameters() -> None:
    specs = deployment_specs()
    ids = {spec["name"]: runner_deployment(spec).apply() for spec in specs}
    with get_client(sync_client=True) as client:
        schemas = {
            name: client.read_deployment(deployment_id).parameter_openapi_schema
            for name, deployment_id in ids.items()
        }
        for name, schema in schemas.items():
            offered = set(schema.get("properties", {}))
            assert not offered & CALLERS_ONLY, f"{name} offers {sorted(offered & CALLERS_ONLY)}"
            assert not set(schema.get("required", [])) & CALLERS_ONLY, name
        assert {"source", "catalog"} <= set(schemas["onboard-file"]["properties"])
        assert "stage" in schemas["review-enrichment"]["properties"]

        # Triggers still pass run_id: the server takes it for a deployment that hides it.
        run = client.create_flow_run_from_deployment(
            ids["review-enrichment"], parameters={"run_id": 7, "stage": "enrich"}
        )
        try:
            assert run.parameters["run_id"] == 7
        finally:
            client.delete_flow_run(run.id)
