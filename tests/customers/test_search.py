"""Search, filters and sorting of the customer list, Korean text included."""

from datetime import UTC, datetime

import pytest

from helpdesk.customers import service
from helpdesk.customers.service import CustomerFilter
from tests.factories import make_custom_field, make_customer, make_purchase


def emails(session, **filters) -> list[str]:
    customers, _total = service.search_customers(session, CustomerFilter(**filters))
    return [c.email for c in customers]


@pytest.fixture
def people(session):
    make_customer(session, email="minji@example.com", name="김민지", company="서울상사")
    make_customer(session, email="dahye@example.com", name="이다혜", company="Busan Trading")
    make_customer(session, email="garam@example.com", name="가람", company="")
    make_customer(session, email="zoe@example.org", name="zoe Park", company="Acme")
    make_customer(session, email="adam@example.org", name="Adam Smith", company="Acme")


def test_korean_names_sort_in_dictionary_order_after_latin_names(session, people):
    assert emails(session, sort="name") == [
        "adam@example.org",
        "zoe@example.org",
        "garam@example.com",
        "minji@example.com",
        "dahye@example.com",
    ]


def test_descending_name_sort_reverses_the_order(session, people):
    assert emails(session, sort="-name")[0] == "dahye@example.com"
    assert emails(session, sort="-name")[-1] == "adam@example.org"


def test_sort_ignores_case(session, people):
    names = emails(session, sort="name")
    assert names.index("adam@example.org") < names.index("zoe@example.org")


def test_search_finds_a_korean_name_by_part(session, people):
    assert emails(session, text="민지") == ["minji@example.com"]


def test_search_finds_a_korean_company(session, people):
    assert emails(session, text="서울") == ["minji@example.com"]


def test_search_with_decomposed_hangul_matches_composed_names(session, people):
    assert emails(session, text="\u1106\u1175\u11ab\u110c\u1175") == ["minji@example.com"]


def test_search_is_case_insensitive_on_email_and_company(session, people):
    assert emails(session, text="ACME") == ["adam@example.org", "zoe@example.org"]
    assert emails(session, text="ZOE@EXAMPLE") == ["zoe@example.org"]


def test_every_search_word_must_match(session, people):
    assert emails(session, text="acme adam") == ["adam@example.org"]


def test_search_treats_percent_and_underscore_literally(session, people):
    make_customer(session, email="under_score@example.com", name="Under")
    assert emails(session, text="_") == ["under_score@example.com"]
    assert emails(session, text="%") == []


def test_filter_by_tag(session):
    make_customer(session, email="a@example.com", tags="vip")
    make_customer(session, email="b@example.com", tags="trial")
    assert emails(session, tag="VIP") == ["a@example.com"]


def test_filter_by_subscription_status(session):
    make_customer(session, email="a@example.com", subscription_status="subscribed")
    make_customer(session, email="b@example.com")
    assert emails(session, status="subscribed") == ["a@example.com"]
    assert emails(session, status="not_subscribed") == ["b@example.com"]


def test_unknown_status_filter_is_refused(session):
    with pytest.raises(service.FilterInvalid):
        emails(session, status="everyone")


@pytest.mark.parametrize(
    ("field_type", "a_value", "b_value", "query"),
    [
        ("text", "Gold", "Silver", "gold"),
        ("number", "3", "30", "3.0"),
        ("date", "2024-01-02", "2024-01-03", "2024-01-02"),
        ("boolean", "yes", "no", "true"),
        ("choice", "Gold", "Silver", "Gold"),
    ],
)
def test_filter_by_custom_field_value(session, field_type, a_value, b_value, query):
    choices = ["Gold", "Silver"] if field_type == "choice" else ()
    make_custom_field(session, key="plan", field_type=field_type, choices=choices)
    make_customer(session, email="a@example.com", fields={"plan": a_value})
    make_customer(session, email="b@example.com", fields={"plan": b_value})
    make_customer(session, email="c@example.com")
    assert emails(session, field_key="plan", field_value=query) == ["a@example.com"]


def test_custom_field_filter_with_a_value_of_the_wrong_type_is_refused(session):
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    with pytest.raises(service.FilterInvalid) as info:
        emails(session, field_key="orders", field_value="many")
    assert "must be a number" in str(info.value.errors["field_value"])


def test_sort_by_creation_time(session):
    make_customer(session, email="old@example.com", now=datetime(2023, 1, 1, tzinfo=UTC))
    make_customer(session, email="new@example.com", now=datetime(2024, 1, 1, tzinfo=UTC))
    assert emails(session, sort="-created") == ["new@example.com", "old@example.com"]
    assert emails(session, sort="created") == ["old@example.com", "new@example.com"]


def test_search_returns_a_page_and_the_total(session):
    for n in range(5):
        make_customer(session, email=f"c{n}@example.com", name=f"Customer {n}")
    customers, total = service.search_customers(session, CustomerFilter(), offset=2, limit=2)
    assert total == 5
    assert [c.name for c in customers] == ["Customer 2", "Customer 3"]


@pytest.fixture
def buyers(session):
    """big spends most in one large purchase, often buys most often in small ones."""
    big = make_customer(session, email="big@example.com", name="Big")
    often = make_customer(session, email="often@example.com", name="Often")
    make_customer(session, email="none@example.com", name="None")
    make_purchase(session, big, amount="500000", currency="KRW")
    for _ in range(3):
        make_purchase(session, often, amount="1000", currency="KRW")
    return big


def test_spend_sort_adds_amounts_while_all_purchases_share_a_currency(session, buyers):
    assert not service.spend_sorts_by_count(session)
    assert emails(session, sort="-spend") == [
        "big@example.com",
        "often@example.com",
        "none@example.com",
    ]
    assert emails(session, sort="spend")[0] == "none@example.com"


def test_spend_sort_counts_purchases_once_currencies_are_mixed(session, buyers):
    make_purchase(session, buyers, amount="1", currency="USD")
    assert service.spend_sorts_by_count(session)
    assert emails(session, sort="-spend") == [
        "often@example.com",
        "big@example.com",
        "none@example.com",
    ]


def test_list_page_names_the_spend_sort_by_what_it_does(admin_client, session, buyers):
    assert "Highest total spend first" in admin_client.get("/customers").text
    make_purchase(session, buyers, amount="1", currency="USD")
    assert "Most purchases first" in admin_client.get("/customers").text


def test_cursor_pages_of_a_tag_hold_each_tagged_customer_once_in_id_order(session):
    tagged = [
        make_customer(session, email=f"c{n}@example.com", tags=["vip"] if n % 3 == 0 else [])
        for n in range(12)
    ]
    wanted = [c.id for c in tagged if c.tags]

    seen, after = [], 0
    while page := service.customers_after(session, CustomerFilter(tag="vip"), after, 2):
        seen += [c.id for c in page]
        after = page[-1].id

    assert seen == wanted
