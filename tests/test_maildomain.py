"""Our mail domain written for addresses and Message-IDs: host names as they are, IP
addresses as domain literals (RFC 5321 section 4.1.3), internationalised names as A-labels."""

from __future__ import annotations

import pytest

from helpdesk.maildomain import (
    InvalidMailDomain,
    address_domain,
    canonical_domain,
    mail_domain,
    own_mail_domains,
    parse_mail_domain,
)


@pytest.mark.parametrize(
    ("public_url", "domain"),
    [
        ("http://127.0.0.1:5000", "[127.0.0.1]"),
        ("https://192.0.2.10/", "[192.0.2.10]"),
        ("http://[::1]:5000", "[IPv6:::1]"),
        ("https://[2001:DB8:0:0::1]:8443/help", "[IPv6:2001:db8::1]"),
        ("http://[fe80::1%25eth0]/", "[IPv6:fe80::1]"),
        ("https://help.example.com", "help.example.com"),
        ("https://help.example.com:8443/sub/path", "help.example.com"),
        ("https://Help.Example.COM/", "help.example.com"),
        ("http://localhost:5000", "localhost"),
        ("https://bücher.example/", "xn--bcher-kva.example"),
        ("https://BÜCHER.example/", "xn--bcher-kva.example"),
        ("https://고객센터.한국/", "xn--i49alon81c06o.xn--3e0b707e"),
        ("file:///no/host", "localhost"),
    ],
)
def test_the_public_url_host_becomes_an_address_domain(public_url, domain):
    assert mail_domain(public_url) == domain


def test_a_configured_mail_domain_wins_over_the_public_url_host():
    assert mail_domain("http://127.0.0.1:5000", "mail.example.com") == "mail.example.com"


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("mail.example.com", "mail.example.com"),
        ("  Mail.Example.COM ", "mail.example.com"),
        ("localhost", "localhost"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("[127.0.0.1]", "[127.0.0.1]"),
        ("[ipv6:2001:DB8::0:1]", "[IPv6:2001:db8::1]"),
        ("[IPv6:::1]", "[IPv6:::1]"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
    ],
)
def test_a_configured_mail_domain_is_accepted_in_its_canonical_form(value, domain):
    assert parse_mail_domain(value) == domain


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("127.0.0.1", r"domain literal: \[127\.0\.0\.1\]"),
        ("::1", r"domain literal: \[IPv6:::1\]"),
        ("[127.0.0.1", "ends with ']'"),
        ("[300.0.0.1]", "not a domain literal"),
        ("[::1]", "not a domain literal"),
        ("[IPv6:zz::1]", "not a domain literal"),
        ("mail.example.com.", "no leading, trailing or double dots"),
        ("mail..example.com", "no leading, trailing or double dots"),
        ("-mail.example.com", "'-mail' is not a DNS label"),
        ("mail_box.example.com", "'mail_box' is not a DNS label"),
        ("support@example.com", "'support@example' is not a DNS label"),
        ("mail example.com", "'mail example' is not a DNS label"),
        ("a" * 64 + ".example", "is not a DNS label"),
        (("a" * 60 + ".") * 5 + "com", "at most 253 characters"),
        ("example.123", "cannot be all digits"),
        ("bücher-.example", "is not an internationalised domain name"),
    ],
)
def test_a_bad_mail_domain_is_refused_with_the_reason(value, reason):
    with pytest.raises(InvalidMailDomain, match=reason):
        parse_mail_domain(value)


def test_spellings_of_one_domain_compare_equal_once_canonical():
    assert address_domain("127.0.0.1") == address_domain("[127.0.0.1]") == "[127.0.0.1]"
    assert canonical_domain("[ipv6:0:0:0:0:0:0:0:1]") == "[IPv6:::1]"
    assert canonical_domain("HELP.example.com") == "help.example.com"
    assert canonical_domain("[not an address]") is None


def test_own_domains_are_the_mail_domain_and_the_public_url_host():
    assert own_mail_domains("http://127.0.0.1:5000") == {"[127.0.0.1]"}
    assert own_mail_domains("http://127.0.0.1:5000", "mail.example.com") == {
        "mail.example.com",
        "[127.0.0.1]",
    }
