"""评价码: the short code that the window's rating tablet shows at 办结, which the window's
static rating QR asks for together with the ticket number, so that only the person who was
served can rate that service from a phone (ticket numbers are sequential and called aloud).

The code is derived from the ticket's phone-page token (16 random characters from
`secrets`, never shown to anyone but the ticket's holder and the window's tablet): an HMAC
keyed by the token, so it needs no table, survives a restart, and tells nothing of the token.
"""
from __future__ import annotations

import hashlib
import hmac

CODE_DIGITS = 6
CODE_VALID_MINUTES = 15     # the window's static QR takes a service's code this long after its 办结


def rating_code(token: str) -> str:
    """The service's 评价码: CODE_DIGITS decimal digits."""
    digest = hmac.new(token.encode("utf-8"), b"govhall-rating-code", hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10 ** CODE_DIGITS:0{CODE_DIGITS}d}"


def code_matches(token: str, code: str) -> bool:
    """Does the code typed in (spaces allowed) belong to the service of this token? Constant time."""
    typed = "".join(code.split())
    return len(typed) == CODE_DIGITS and typed.isascii() and typed.isdigit() and \
        hmac.compare_digest(typed, rating_code(token))
