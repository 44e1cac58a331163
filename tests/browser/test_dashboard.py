"""The dashboard in headless Chromium, on sessions recorded by the real SDK."""

import re
import uuid

import requests
from playwright.sync_api import expect

from conftest import ADMIN_PASSWORD, screenshot, sign_in

XSS_PROBE = "window.__tracewellXss"


def test_sign_in_then_sign_out(page, server):
    page.goto(server.base_url + "/overview")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Foverview"))
    screenshot(page, "01-sign-in")

    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid username or password.")

    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/overview$"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto(server.base_url + "/sessions")
    expect(page).to_have_url(re.compile(r"/signin\?next="))


def test_overview_shows_totals_and_charts(page, server, sdk_sessions):
    sign_in(page, server)
    expect(page.locator("#charts")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#total-sessions")).to_have_text("2")
    cost = page.locator("#total-cost").inner_text()
    assert re.fullmatch(r"\$\d+\.\d+", cost), cost
    expect(page.locator("#error-rate")).to_have_text("100.0 %")
    for chart in ["sessions", "cost", "tokens", "states", "errors"]:
        box = page.locator(f"#chart-{chart}").bounding_box()
        assert box and box["height"] > 100, f"chart {chart} has no height: {box}"
    expect(page.get_by_role("heading", name="Costliest sessions")).to_be_visible()
    assert page.console_errors == []
    screenshot(page, "02-overview")


def test_session_list_filters_and_sorts(page, server, sdk_sessions):
    sign_in(page, server)
    page.goto(server.base_url + "/sessions")
    rows = page.locator("#sessions-table tbody tr")
    expect(rows).to_have_count(2)
    # The tag "<b>bold-tag</b>" shows as text, not as markup.
    expect(page.get_by_text("<b>bold-tag</b>").first).to_be_visible()
    assert page.locator("#sessions-table b").count() == 0
    screenshot(page, "03-sessions")

    page.get_by_label("End state").select_option("Fail")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_text("Fail", exact=True)).to_be_visible()

    page.get_by_label("End state").select_option("")
    page.get_by_label("Tag").fill("run-success")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_text("Success", exact=True)).to_be_visible()

    page.get_by_label("Tag").fill("")
    page.get_by_label("Text in prompts and completions").fill("capital of France")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    page.get_by_label("Text in prompts and completions").fill("no such words anywhere")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No sessions match these filters.")).to_be_visible()

    page.goto(server.base_url + "/sessions?sort=end_state&dir=asc")
    expect(rows.nth(0).locator(".badge")).to_have_text("Fail")
    expect(rows.nth(1).locator(".badge")).to_have_text("Success")
    screenshot(page, "04-sessions-sorted")


def test_session_page_replays_sdk_session(page, server, sdk_sessions):
    sign_in(page, server)
    session_id = sdk_sessions["success"]
    page.goto(f"{server.base_url}/drilldown?session_id={session_id}")
    expect(page.locator("#session-id")).to_have_text(session_id)
    expect(page.locator("#end-state")).to_have_text("Success")
    expect(page.locator("#replay")).to_have_attribute("data-loaded", "true")
    expect(page.locator(".wf-group").first).to_contain_text("researcher")
    expect(page.locator(".wf-row")).to_have_count(3)
    screenshot(page, "05-session")

    page.locator(".wf-row", has=page.locator(".kind-llm")).click()
    panel = page.locator("#event-panel")
    prompt = panel.get_by_role("region", name="Prompt")
    completion = panel.get_by_role("region", name="Completion")
    expect(prompt.locator(".message-role")).to_have_text(["system", "user"])
    expect(prompt.locator(".message-user")).to_contain_text('<script>window.__tracewellXss = "script"</script>')
    expect(completion.locator(".message-role")).to_have_text(["assistant"])
    expect(completion).to_contain_text("Paris is the capital of France. <b>not bold</b>")
    expect(panel).to_contain_text("gpt-4o-mini")
    # The prompt's script and image handler stayed text.
    assert page.evaluate(XSS_PROBE) is None
    assert panel.locator("script, img, b").count() == 0
    screenshot(page, "06-llm-event")

    page.locator(".wf-row", has=page.locator(".kind-error")).click()
    expect(panel.locator("pre.log")).to_contain_text("ValueError: negative count")
    page.locator(".wf-row", has=page.locator(".kind-tool")).click()
    expect(panel.get_by_role("heading", name="Returns")).to_be_visible()
    screenshot(page, "07-error-and-tool-events")
    assert page.console_errors == []

    # The link format of the 0.4 SDKs: a trace id as 32 hex digits.
    page.goto(f"{server.base_url}/sessions?trace_id={uuid.UUID(session_id).hex}")
    expect(page.locator("#session-id")).to_have_text(session_id)


def test_session_page_keyboard_and_narrow_window(browser, server, sdk_sessions):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, server)
        page.goto(f"{server.base_url}/drilldown?session_id={sdk_sessions['fail']}")
        expect(page.locator("#replay")).to_have_attribute("data-loaded", "true")
        page.locator("#waterfall-scroll").focus()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        expect(page.locator("#event-panel h3")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"page is {width} px wide in a 390 px window"
        screenshot(page, "08-session-narrow")
        page.goto(server.base_url + "/sessions")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "09-sessions-narrow")
    finally:
        context.close()


def test_waterfall_with_ten_thousand_events(page, server):
    session_id = str(uuid.uuid4())
    created = requests.post(
        f"{server.base_url}/v2/create_session",
        json={"session": {"session_id": session_id, "init_timestamp": "2026-01-01T00:00:00Z", "tags": ["bulk"]}},
        headers={"X-Agentops-Api-Key": server.api_key},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    jwt = created.json()["jwt"]
    for batch in range(10):
        events = [
            {
                "id": str(uuid.uuid4()),
                "event_type": "tools" if i % 2 else "actions",
                "name": f"step-{batch * 1000 + i}",
                "init_timestamp": f"2026-01-01T00:{batch:02d}:{i % 60:02d}.{i:06d}Z",
                "end_timestamp": f"2026-01-01T00:{batch:02d}:{i % 60:02d}.{i + 500:06d}Z",
                "params": {"i": i},
                "returns": i * 2,
            }
            for i in range(1000)
        ]
        stored = requests.post(
            f"{server.base_url}/v2/create_events",
            json={"events": events},
            headers={"Authorization": f"Bearer {jwt}"},
            timeout=60,
        )
        assert stored.status_code == 200, stored.text

    sign_in(page, server)
    page.goto(f"{server.base_url}/drilldown?session_id={session_id}")
    expect(page.locator("#replay")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#waterfall-status")).to_contain_text("10000 events")
    # Only the rows in view are in the DOM.
    assert page.locator(".wf-row").count() < 100
    page.locator("#waterfall-scroll").focus()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    expect(page.locator("#event-panel h3")).to_contain_text("step-")
    screenshot(page, "10-session-10000-events")


def test_waterfall_nests_child_events(page, server):
    session_id = str(uuid.uuid4())
    created = requests.post(
        f"{server.base_url}/v2/create_session",
        json={"session": {"session_id": session_id, "init_timestamp": "2026-01-01T00:00:00Z"}},
        headers={"X-Agentops-Api-Key": server.api_key},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    # (name, parent, start second, end second); listed out of order on purpose.
    spans = [
        ("grandchild", "child-a", 3, 4),
        ("child-b", "root", 6, 8),
        ("root", None, 1, 9),
        ("child-a", "root", 2, 5),
    ]
    events = [
        {
            "id": name,
            "event_type": "actions",
            "name": name,
            "parent_id": parent,
            "init_timestamp": f"2026-01-01T00:00:0{start}Z",
            "end_timestamp": f"2026-01-01T00:00:0{end}Z",
        }
        for name, parent, start, end in spans
    ]
    stored = requests.post(
        f"{server.base_url}/v2/create_events",
        json={"events": events},
        headers={"Authorization": f"Bearer {created.json()['jwt']}"},
        timeout=30,
    )
    assert stored.status_code == 200, stored.text

    sign_in(page, server)
    page.goto(f"{server.base_url}/drilldown?session_id={session_id}")
    expect(page.locator("#replay")).to_have_attribute("data-loaded", "true")
    rows = page.locator(".wf-row")
    expect(rows).to_have_text(["root", "child-a", "grandchild", "child-b"])
    depths = [rows.nth(i).get_attribute("data-depth") for i in range(4)]
    assert depths == ["0", "1", "2", "1"]
    screenshot(page, "11-session-nested-events")


def test_keys_page_creates_and_revokes(page, server):
    sign_in(page, server)
    page.goto(server.base_url + "/keys")
    page.get_by_label("Name").fill("browser <i>key</i>")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key-value").inner_text()
    assert uuid.UUID(key)
    expect(page.get_by_role("cell", name="browser <i>key</i>")).to_be_visible()
    screenshot(page, "12-keys")
    row = page.locator("tr", has=page.get_by_role("cell", name="browser <i>key</i>"))
    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(row.get_by_text(re.compile("Revoked"))).to_be_visible()
    expect(page.locator("#new-key-value")).to_have_count(0)
    refused = requests.post(
        f"{server.base_url}/v2/create_session",
        json={"session": {"session_id": str(uuid.uuid4())}},
        headers={"X-Agentops-Api-Key": key},
        timeout=30,
    )
    assert refused.status_code == 401


def test_agents_and_users_pages(page, server, sdk_sessions):
    sign_in(page, server)
    page.goto(server.base_url + "/agents")
    expect(page.get_by_role("link", name="researcher")).to_be_visible()
    screenshot(page, "13-agents")
    page.goto(server.base_url + "/users")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password", exact=True).fill("reviewer-password")
    page.get_by_label("Password again").fill("reviewer-password")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_have_text("Added user reviewer.")
    screenshot(page, "14-users")
