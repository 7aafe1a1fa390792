"""Screenshots of every workbench page, for the README: onboards the bundled example into a
throw-away home (the real pipeline, offline), makes a few review decisions so every chart has
data, serves the app, and photographs each page with headless Chromium.

    .venv/bin/python -m ui.screenshots [docs/screenshots]

Needs Debian's Chromium (``apt-get install chromium``) and the dev extra (Playwright).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CATALOG = "acme-supplier-catalog"
VIEWPORT = {"width": 1280, "height": 820}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / ".skuflow"
        env = {**os.environ, "SKUFLOW_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env.pop("SKUFLOW_DATABASE_URL", None)
        skuflow = [sys.executable, "-m", "cli.main"]
        subprocess.run(
            [*skuflow, "demo", "--out", str(Path(tmp) / "out")],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        created = subprocess.run(
            [*skuflow, "api", "keys", "create", "--organization", "default"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = created.stdout.strip().splitlines()[-1]
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "ui.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait(url)
            _decide_some(url, key)
            _photograph(url, key, out)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"screenshots in {out}")


def _decide_some(url: str, key: str) -> None:
    """A few decisions, so the reliability curve and the queue's history have points."""
    api = httpx.Client(
        base_url=f"{url}/api/catalogs/{CATALOG}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    api.post("/changes/approve", json={"filter": {"min_confidence": 0.85}, "reviewer": "Dana"})
    api.post("/changes/reject", json={"filter": {"max_confidence": 0.55}, "reviewer": "Dana"})
    applied = api.get("/changes", params={"status": "applied", "operation": "enrich"}).json()
    if applied["data"]:
        api.post("/rollback", json={"change_id": applied["data"][0]["id"], "reviewer": "Dana"})


def _photograph(url: str, key: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{url}/ui/login")
        page.fill("input[name=reviewer]", "Dana")
        page.fill("input[name=api_key]", key)
        page.screenshot(path=str(out / "01-sign-in.png"))
        page.click("button[type=submit]")
        base = f"{url}/ui/catalogs/{CATALOG}"
        page.goto(f"{base}/queue?order=confidence_desc")
        page.keyboard.press("j")
        page.screenshot(path=str(out / "02-review-queue.png"))
        first = page.get_attribute("#queue .item", "data-id")
        record_link = page.get_attribute("#queue .item", "data-record")
        page.goto(f"{base}/changes/{first}")
        page.screenshot(path=str(out / "03-change.png"))
        rolled = httpx.get(
            f"{url}/api/catalogs/{CATALOG}/changes",
            params={"status": "rolled_back", "limit": 1},
            headers={"Authorization": f"Bearer {key}"},
        ).json()["data"]
        page.goto(f"{base}/records/{rolled[0]['record']}" if rolled else record_link)
        page.screenshot(path=str(out / "04-record-history.png"))
        page.goto(f"{base}/records?waiting=true")
        page.screenshot(path=str(out / "05-records.png"))
        page.goto(f"{base}/runs")
        run = re.search(r"/runs/(\d+)", page.content())
        page.screenshot(path=str(out / "06-runs.png"))
        if run:
            page.goto(f"{base}/runs/{run.group(1)}")
            page.screenshot(path=str(out / "07-run.png"))
        page.goto(f"{base}/conflicts")
        page.screenshot(path=str(out / "08-conflicts.png"))
        page.goto(f"{base}/analyse")
        page.set_viewport_size({"width": 1280, "height": 1800})
        page.screenshot(path=str(out / "09-analyse.png"))
        browser.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
