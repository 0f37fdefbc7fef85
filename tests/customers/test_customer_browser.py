"""An admin defines a custom field and fills it on a customer record, in a real Chromium."""

import pytest

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.mark.browser
def test_admin_creates_a_custom_field_and_uses_it_on_a_customer(page, admin):
    page.goto("/login")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto("/admin")
    page.click("text=Custom fields")
    page.click("text=New custom field")
    page.fill("input[name=label]", "Membership plan")
    page.fill("input[name=key]", "plan")
    page.select_option("select[name=field_type]", "choice")
    page.fill("textarea[name=choices]", "Gold\nSilver")
    page.click("main button.primary[type=submit]")
    page.wait_for_url("**/admin/custom-fields")
    assert "Membership plan" in page.locator("table").inner_text()

    page.click("nav.mainnav >> text=Customers")
    page.click("text=Add the first customer")
    page.fill("input[name=email]", "minji@example.com")
    page.fill("input[name=name]", "김민지")
    page.select_option("select[name=cf_plan]", "Gold")
    page.click("main button.primary[type=submit]")
    page.wait_for_url("**/customers/*")
    assert page.locator("h1").inner_text() == "김민지"
    assert page.locator("dd[data-field=plan]").inner_text() == "Gold"

    page.click(".page-head >> text=Edit")
    assert page.locator("select[name=cf_plan]").input_value() == "Gold"
    page.select_option("select[name=cf_plan]", "Silver")
    page.fill("input[name=company]", "서울상사")
    page.click("main button.primary[type=submit]")
    page.wait_for_url("**/customers/*")
    assert page.locator("dd[data-field=plan]").inner_text() == "Silver"
    assert "서울상사" in page.locator(".page-head").first.inner_text()

    page.click("nav.mainnav >> text=Customers")
    page.fill("input[name=q]", "민지")
    page.click("form.filters button[type=submit]")
    assert page.locator("table.customers tbody tr").count() == 1
