"""Pure domain: no I/O. Recipients, text, sender rules, the message and report models, errors."""
