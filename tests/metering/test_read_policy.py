"""The read API's authorization rule (metering/read_policy.py), case by case: each refusal is one a caller
could try by substituting someone else's key in a query or path."""
import pytest

from metering.read_policy import (PUBLIC_KINDS, Decision, Kind, Principal, Resource, Role, may_read,
                                  principal_for)

A, B = "Cust1111111111111111111111111111111111111A", "Cust1111111111111111111111111111111111111B"
P, Q = "Prov1111111111111111111111111111111111111P", "Prov1111111111111111111111111111111111111Q"
OP = "Oper11111111111111111111111111111111111111"

cust_a = Principal(A)
prov_p = Principal(P, provider=True)
operator = Principal(OP, operator=True)
SERVED = {(P, A)}


def serves(provider: str, customer: str) -> bool:
    return (provider, customer) in SERVED


def decide(who, kind, customer=None, provider=None) -> Decision:
    return may_read(who, Resource(kind, customer, provider), serves)


def test_roles_of_a_principal():
    assert cust_a.roles == {Role.CUSTOMER}
    assert principal_for(P, admins={OP}, is_provider=True).roles == {Role.CUSTOMER, Role.PROVIDER}
    assert principal_for(OP, admins={OP}, is_provider=False).roles == {Role.CUSTOMER, Role.OPERATOR}
    assert not principal_for(A, admins={OP}, is_provider=False).operator


@pytest.mark.parametrize("kind", sorted(PUBLIC_KINDS, key=lambda k: k.value))
def test_public_kinds_need_no_signature(kind):
    assert decide(None, kind).allowed


@pytest.mark.parametrize("kind", [Kind.USAGE, Kind.RECEIPTS, Kind.CUSTOMER_STATUS])
def test_private_kinds_refuse_unsigned_as_unauthenticated(kind):
    d = decide(None, kind, customer=A)
    assert not d.allowed and d.unauthenticated and "sign the request" in d.reason


@pytest.mark.parametrize("kind", [Kind.USAGE, Kind.RECEIPTS, Kind.CUSTOMER_STATUS])
def test_customer_reads_its_own_data(kind):
    assert decide(cust_a, kind, customer=A).allowed
    assert decide(cust_a, kind, customer=A, provider=Q).allowed  # one of its channels, any provider


@pytest.mark.parametrize("kind", [Kind.USAGE, Kind.RECEIPTS, Kind.CUSTOMER_STATUS])
def test_customer_may_not_read_another_customer(kind):
    d = decide(cust_a, kind, customer=B)
    assert not d.allowed and not d.unauthenticated
    assert d.field == "customer" and B in d.reason and A in d.reason


def test_customer_may_not_list_a_providers_channels():
    d = decide(cust_a, Kind.RECEIPTS, provider=P)
    assert not d.allowed and d.field == "provider"


def test_naming_another_provider_in_the_filter_gets_nothing():
    # Q signs but names P: the filter is a claim, the signature says who is asking
    assert not decide(Principal(Q, provider=True), Kind.RECEIPTS, provider=P).allowed
    assert not decide(Principal(Q, provider=True), Kind.USAGE, customer=A, provider=P).allowed


def test_channels_are_readable_by_the_key_they_name_registered_or_not():
    assert decide(Principal(P), Kind.RECEIPTS, provider=P).allowed
    assert not decide(Principal(P), Kind.CUSTOMER_STATUS, customer=A).allowed  # serving is a registered role


@pytest.mark.parametrize("kind", [Kind.USAGE, Kind.RECEIPTS])
def test_provider_reads_its_own_channels(kind):
    assert decide(prov_p, kind, provider=P).allowed
    assert decide(prov_p, kind, customer=B, provider=P).allowed  # even a customer it does not serve: only P's rows


@pytest.mark.parametrize("kind", [Kind.USAGE, Kind.RECEIPTS])
def test_provider_may_not_read_another_providers_channels(kind):
    d = decide(prov_p, kind, customer=A, provider=Q)
    assert not d.allowed and d.field == "provider" and "own channels" in d.reason
    d = decide(prov_p, kind, provider=Q)
    assert not d.allowed and d.field == "provider"


@pytest.mark.parametrize("kind", [Kind.USAGE, Kind.RECEIPTS])
def test_a_reader_of_no_party_is_told_who_may_read_a_channel(kind):
    """An auditor's key (neither party, no consent) asking for a channel: the refusal names who is served and
    the consent it lacks, not the provider's rule (it is no provider)."""
    auditor = Principal("Audi1111111111111111111111111111111111111X")
    d = decide(auditor, kind, customer=A, provider=P)
    assert not d.allowed and d.field == "provider" and "own channels" not in d.reason
    assert "a reader holding the customer's signed consent" in d.reason
    assert decide(Principal(auditor.pubkey, consent_from=A), kind, customer=A, provider=P).allowed


@pytest.mark.parametrize("kind", [Kind.USAGE, Kind.RECEIPTS])
def test_provider_without_its_filter_may_not_read_all_of_a_customer(kind):
    # all of A's channels would include other providers' usage: P must narrow to itself
    d = decide(prov_p, kind, customer=A)
    assert not d.allowed and d.field == "customer" and "set provider to your key" in d.reason
    assert not decide(prov_p, kind, customer=B).allowed


def test_provider_reads_status_of_a_customer_it_serves_only():
    assert decide(prov_p, Kind.CUSTOMER_STATUS, customer=A).allowed
    d = decide(prov_p, Kind.CUSTOMER_STATUS, customer=B)
    assert not d.allowed and d.field == "customer" and "customers it serves" in d.reason


def test_serves_is_asked_for_the_provider_and_the_customer_in_that_order():
    asked = []
    may_read(prov_p, Resource(Kind.CUSTOMER_STATUS, B), lambda p, c: asked.append((p, c)) or False)
    assert asked == [(P, B)]


def test_serves_is_not_asked_of_a_customer():
    # a customer that is no provider never gains another's status through the serves fact
    assert not may_read(cust_a, Resource(Kind.CUSTOMER_STATUS, B), lambda p, c: True).allowed


@pytest.mark.parametrize("kind", [Kind.USAGE, Kind.RECEIPTS, Kind.CUSTOMER_STATUS])
def test_operator_reads_everything(kind):
    assert decide(operator, kind, customer=B).allowed
    assert decide(operator, kind, provider=Q).allowed
    assert decide(operator, kind, customer=B, provider=Q).allowed


def test_describe_names_what_was_asked():
    assert Resource(Kind.USAGE, A, P).describe() == f"usage of customer {A} and provider {P}"
    assert Resource(Kind.BATCHES).describe() == "batches"


def test_admin_keys_are_checked_where_configured():
    from metering.read_policy import admin_keys

    good = "11111111111111111111111111111111"
    assert admin_keys([good, f" {good} "]) == {good}
    with pytest.raises(ValueError, match="--admin 'nope' is not a base58"):
        admin_keys([good, "nope"])
