"""The auditor's errors. Each is a SolmeterError, which the CLI prints as one line.

A failed CHECK is not an error: it is a result in the report. Errors are for when an audit cannot run at
all (a malformed receipt file, an unreachable RPC node, an account that does not decode).
"""
from solmeter.errors import SolmeterError


class AuditError(SolmeterError):
    """The audit could not be carried out."""


class ReceiptFileError(AuditError):
    """A signed-receipt document is malformed; the message names the field."""


class ChainReadError(AuditError):
    """The chain could not be read, or an account or event there does not decode."""


class ApiReadError(AuditError):
    """The metering API could not be reached or answered something that is not a receipt."""


class ApiForbidden(ApiReadError):
    """The metering API serves this only to its parties (a channel's receipt list: its customer, its
    provider, the operator): the request was unsigned or signed by a key that is none of them."""
