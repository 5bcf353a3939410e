"""``python -m smsgate.elasticio.run``: the runtime's run for this component, at the
path the image and the README name (see :mod:`smsgate.sailor.run`), with the component's
ledger: the message store's when SMSGATE_DATABASE_URL is set."""

import sys

from smsgate.elasticio.ledger import ledger_for
from smsgate.sailor.run import main

if __name__ == "__main__":
    sys.exit(main(ledger_for))
