"""Trial mode of the original elastic.io component: blank credentials still send, visibly.

The component promised: "TRIAL USE: " before the text and at most two recipients. The account
that pays for trial sends is the operator's (a setting), never one written in the code.
"""

from __future__ import annotations

from typing import Final

TRIAL_PREFIX: Final = "TRIAL USE: "
TRIAL_MAX_RECIPIENTS: Final = 2
TRIAL_LIMIT_REASON: Final = "trial limit"


def trial_text(text: str) -> str:
    return TRIAL_PREFIX + text
