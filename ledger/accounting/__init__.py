"""Double-entry accounting: the chart of accounts, balanced postings, pure posting rules and the store."""
from . import chart, rules
from .chart import Account, Book, Kind
from .errors import InvalidPosting, LedgerError, PostingConflict, UnbalancedTransaction
from .posting import Entry, Posting, PostingKind, Side, credit, debit
from .store import Ledger, PostResult, balance_in, balances_in, post_in, statement_in, trial_balance_in

__all__ = ["chart", "rules", "Account", "Book", "Kind", "InvalidPosting", "LedgerError", "PostingConflict",
           "UnbalancedTransaction", "Entry", "Posting", "PostingKind", "Side", "credit", "debit", "Ledger",
           "PostResult", "balance_in", "balances_in", "post_in", "statement_in", "trial_balance_in"]
