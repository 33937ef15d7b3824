"""A price book file with a mistake is refused with a message that names the key or entry and what it must be
(found writing one by hand from the README: a book without `version` was refused as `malformed price book:
'version'`, a non-integer price as `unit_price must be an integer ...` without saying which class)."""
import pytest

from contracts.pricing import PriceBook


@pytest.mark.parametrize("book, says", [
    ({"storage": {"STANDARD": {"unit_price": 1, "per": 1}}}, "malformed price book: missing key 'version'"),
    ({"version": True}, "version must be a positive integer"),
    ({"version": 2, "storage": {"STANDARD": {"unit_price": 0.5, "per": 1048576}}},
     "malformed price book: storage.STANDARD: unit_price must be an integer in 0..2^64-1"),
    ({"version": 2, "gpu": {"H100": {"unit_price": 2500000}}}, "malformed price book: gpu.H100: missing key 'per'"),
    ({"version": 2, "gpu": {"H100": 2500000}}, "malformed price book: gpu.H100 must be {unit_price: INTEGER, "
                                                "per: INTEGER}"),
    ({"version": 2, "egress": [1, 2]}, "malformed price book: egress must be a table"),
    ({"version": 2, "cpu": {}}, "unknown key 'cpu'"),
])
def test_a_malformed_price_book_says_which_key_and_what_it_must_be(book, says):
    with pytest.raises(ValueError) as e:
        PriceBook.from_dict(book)
    assert str(e.value).startswith(says), str(e.value)


def test_a_well_formed_book_still_reads():
    book = PriceBook.from_dict({"version": 2, "storage": {"STANDARD": {"unit_price": 1, "per": 1048576}},
                                "gpu": {"*": {"unit_price": 2500000, "per": 3600000}}})
    assert book.price("gpu", "H100").unit_price == 2500000 and book.price("storage", "STANDARD").per == 1048576
