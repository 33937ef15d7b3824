"""Ledger errors: one small hierarchy, each message names what is wrong."""
from __future__ import annotations


class LedgerError(Exception):
    """Base of every ledger error."""


class InvalidPosting(LedgerError, ValueError):
    """A posting or account key is malformed: unbalanced, non-integer or non-positive amount, bad owner."""


class PostingConflict(LedgerError):
    """The external key was already posted with different entries: nothing was written."""


class UnbalancedTransaction(LedgerError):
    """The store found a journal transaction whose debits and credits differ (rolled back)."""
