"""The administration page in a real browser against the real stack: an admin creates a key
(its secret shown once), the key signs in and sees only its scopes' pages, the admin revokes it
and the key's next action is refused."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect

from console_pages import WAIT_MS, Console


def test_a_created_key_sees_only_its_scopes_pages_until_revoked_then_its_next_action_is_refused(console, browser, stack):
    console.sign_in(stack.admin_key())
    console.go("admin")
    page = console.page
    name = f"analyst-{uuid.uuid4().hex[:6]}"
    console.choose("key-tenant", "default")
    page.locator("[data-test=key-name]").fill(name)
    page.locator("[data-test=scope-chat]").click()  # on by default: off
    page.locator("[data-test=scope-rag\\:read]").click()
    page.locator("[data-test=scope-batch]").click()
    page.locator("[data-test=create-key]").click()
    secret = page.locator("[data-test=new-secret]").inner_text(timeout=WAIT_MS).strip()
    assert secret.startswith("tsk_")
    page.locator("[data-test=secret-done]").click()
    row = page.locator("[data-test=keys] tbody tr", has_text=name)
    expect(row).to_contain_text("rag:read")
    expect(row).to_contain_text("active")
    # Shown once: nothing on the page holds the secret any more.
    assert secret not in page.content()

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    try:
        analyst = Console(context.new_page(), stack.gateway_url)
        analyst.sign_in(secret)
        assert analyst.nav_labels() == ["Knowledge bases", "Batches"]
        expect(analyst.page.locator("[data-test=who]")).to_contain_text(name)
        analyst.page.goto(f"{stack.gateway_url}/#/admin")
        expect(analyst.page.locator("h1.page-title")).to_have_text("Knowledge bases", timeout=WAIT_MS)
        analyst.go("batches")

        row.locator(f"[data-test=revoke-{secret[:12]}]").click()
        page.locator(".n-popconfirm__action button", has_text="Confirm").click()
        expect(row).to_contain_text("revoked", timeout=WAIT_MS)

        analyst.page.get_by_role("button", name="Refresh").click()
        expect(analyst.page.locator("[data-test=expired]")).to_be_visible(timeout=WAIT_MS)
        expect(analyst.page.locator("[data-test=who]")).to_have_count(0)
        assert analyst.page.evaluate("() => sessionStorage.getItem('tianshu.key')") is None
    finally:
        context.close()

    page.locator(".n-tabs-tab", has_text="Audit log").click()
    console.choose("audit-action", "key.revoke")
    expect(page.locator("[data-test=audit] tbody tr").first).to_contain_text("key.revoke", timeout=WAIT_MS)
    # The gateway filters: the key's id as text keeps its revocation only (its creation is
    # another action), among however many events the log holds.
    key_id = page.locator("[data-test=audit] tbody tr").first.locator("td").nth(4).inner_text()
    page.locator("[data-test=audit-text]").fill(key_id)
    expect(page.locator("[data-test=audit] tbody tr")).to_have_count(1, timeout=WAIT_MS)
    console.choose("audit-action", "key.create")
    expect(page.locator("[data-test=audit] tbody tr")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator("[data-test=audit] tbody tr")).to_contain_text("key.create", timeout=WAIT_MS)
    assert console.csp_violations() == []


def test_usage_over_time_is_charted_for_the_admin(console, stack, client):
    client.chat.completions.create(model="smollm2-135m-instruct", max_tokens=4,
                                   messages=[{"role": "user", "content": "Hi"}])
    console.sign_in(stack.admin_key())
    console.go("admin")
    console.page.locator(".n-tabs-tab", has_text="Usage").click()
    expect(console.page.locator("[data-test=usage-chart]")).to_be_visible(timeout=WAIT_MS)
    expect(console.page.locator("[data-test=usage-totals] tbody tr", has_text="chat.completions").first).to_be_visible()
