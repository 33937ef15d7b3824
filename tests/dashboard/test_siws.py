"""Sign-In With Solana: the message layout, and every reason the meter refuses a signed message."""
import pytest
from solders.keypair import Keypair

from dashboard import siws
from dashboard.sessions import Challenges, Sessions

NOW = 1_800_000_000_000
EXP = siws.Expected(domain="127.0.0.1:8080", uri="http://127.0.0.1:8080/dashboard/", chain_id="solana:localnet")


def signed(kp: Keypair, **over):
    fields = dict(domain=EXP.domain, uri=EXP.uri, address=str(kp.pubkey()), chain_id=EXP.chain_id,
                  nonce="abcdEFGH2345", now_ms=NOW, ttl_ms=300_000)
    fields.update(over)
    msg = siws.challenge(**fields).render().encode()
    return msg, bytes(kp.sign_message(msg))


def test_layout_is_the_siws_format_and_round_trips():
    kp = Keypair()
    m = siws.challenge(EXP.domain, EXP.uri, str(kp.pubkey()), EXP.chain_id, "abcdEFGH2345", NOW, 300_000)
    text = m.render()
    assert text.splitlines()[:2] == [f"{EXP.domain} wants you to sign in with your Solana account:", str(kp.pubkey())]
    assert "\nNonce: abcdEFGH2345\n" in text and "\nChain ID: solana:localnet\n" in text
    assert "\nIssued At: 2027-01-15T08:00:00.000Z\n" in text and text.endswith("Expiration Time: 2027-01-15T08:05:00.000Z")
    assert siws.parse(text) == m


def test_a_good_signature_is_accepted():
    kp = Keypair()
    msg, sig = signed(kp)
    assert siws.verify(msg, sig, EXP, NOW + 1000).address == str(kp.pubkey())


@pytest.mark.parametrize("over,field", [
    (dict(domain="evil.example"), "domain"),            # signed on a phishing site that relays to us
    (dict(uri="http://evil.example/dashboard/"), "uri"),
    (dict(chain_id="solana:mainnet"), "chain_id"),
    (dict(now_ms=NOW + 60_000), "issued_at"),            # issued in the future
    (dict(now_ms=NOW - 600_000), "expiration_time"),     # expired
])
def test_a_message_not_the_one_asked_for_is_refused(over, field):
    kp = Keypair()
    msg, sig = signed(kp, **over)
    with pytest.raises(siws.SiwsError) as e:
        siws.verify(msg, sig, EXP, NOW)
    assert e.value.field == field


def test_another_keys_signature_or_a_tampered_message_is_refused():
    kp, other = Keypair(), Keypair()
    msg, _ = signed(kp)
    with pytest.raises(siws.SiwsError, match="signature"):
        siws.verify(msg, bytes(other.sign_message(msg)), EXP, NOW)
    msg2, sig2 = signed(kp)
    tampered = msg2.replace(b"abcdEFGH2345", b"abcdEFGH2346")
    with pytest.raises(siws.SiwsError, match="signature"):
        siws.verify(tampered, sig2, EXP, NOW)
    with pytest.raises(siws.SiwsError, match="64 bytes"):
        siws.verify(msg, sig2[:63], EXP, NOW)


def test_a_message_in_another_layout_is_refused_naming_the_field():
    kp = Keypair()
    text = siws.challenge(EXP.domain, EXP.uri, str(kp.pubkey()), EXP.chain_id, "abcdEFGH2345", NOW, 1000).render()
    with pytest.raises(siws.SiwsError, match="lines"):
        siws.parse(text + "\nResources: x")
    with pytest.raises(siws.SiwsError) as e:
        siws.parse(text.replace("Nonce: ", "Nonse: "))
    assert e.value.field == "nonce"
    with pytest.raises(siws.SiwsError) as e:
        siws.parse(text.replace(str(kp.pubkey()), "not-a-key"))
    assert e.value.field == "address"
    with pytest.raises(siws.SiwsError, match="UTF-8"):
        siws.verify(b"\xff" + text.encode(), b"\0" * 64, EXP, NOW)


class Clock:
    def __init__(self):
        self.t = NOW

    def __call__(self):
        return self.t


def test_a_nonce_is_used_once_by_the_address_it_was_issued_to_before_it_expires():
    clock = Clock()
    ch = Challenges(clock)
    a, b = str(Keypair().pubkey()), str(Keypair().pubkey())
    n = ch.issue(a, 1000)
    assert ch.consume(n, b) == "this nonce was issued to another address"
    n = ch.issue(a, 1000)
    assert ch.consume(n, a) is None
    assert "already used" in ch.consume(n, a)
    n = ch.issue(a, 1000)
    clock.t += 1000
    assert "expired" in ch.consume(n, a)
    assert "unknown" in ch.consume("neverIssued123", a)


def test_a_session_ends_at_its_expiry_or_when_closed():
    clock = Clock()
    s = Sessions(clock, 5000)
    tok = s.open("W", frozenset({"customer"}))
    assert s.get(tok).wallet == "W" and s.get("forged") is None and s.get(None) is None
    clock.t += 5000
    assert s.get(tok) is None
    tok = s.open("W", frozenset())
    s.close(tok)
    assert s.get(tok) is None
