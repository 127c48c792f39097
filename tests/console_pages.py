"""Steps of the web console that several browser tests take, on a Playwright page."""
from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import Page, expect

# Long enough for a first page load or a stack answer on a busy 2-core machine; only a hang guard.
WAIT_MS = 60_000


@dataclass
class Console:
    page: Page
    url: str
    errors: list[str] = field(default_factory=list)

    def open(self) -> None:
        self.page.goto(f"{self.url}/")
        expect(self.page.locator("[data-test=key], [data-test=who]").first).to_be_visible(timeout=WAIT_MS)

    def sign_in(self, key: str) -> None:
        self.open()
        self.page.locator("[data-test=key]").fill(key)
        self.page.locator("[data-test=sign-in]").click()
        expect(self.page.locator("[data-test=who]")).to_be_visible(timeout=WAIT_MS)

    def sign_out(self) -> None:
        self.page.locator("[data-test=sign-out]").click()
        expect(self.page.locator("[data-test=key]")).to_be_visible(timeout=WAIT_MS)

    def nav_labels(self) -> list[str]:
        return [label.strip() for label in self.page.locator("nav a:visible").all_inner_texts()]

    def go(self, name: str) -> None:
        """Opens a page by its route name (playground, knowledge, batches, admin)."""
        self.page.goto(f"{self.url}/#/{name}")
        expect(self.page.locator("h1.page-title")).to_be_visible(timeout=WAIT_MS)

    def choose(self, select: str, option: str) -> None:
        """Picks `option` (its visible text) in the Naive UI select marked data-test=`select`."""
        self.page.locator(f"[data-test={select}]").click()
        self.page.locator(".n-base-select-option", has_text=option).first.click()

    def switch_language(self, label: str) -> None:
        self.choose("language", label)

    def missing_messages(self) -> list[str]:
        return self.page.evaluate("() => [...window.tianshuMissingMessages]")

    def csp_violations(self) -> list[str]:
        return [error for error in self.errors if "Content Security Policy" in error]
