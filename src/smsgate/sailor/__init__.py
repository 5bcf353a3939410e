"""The elastic.io runtime: a Python sailor that speaks the platform's protocol (spec §2-§13).

It knows nothing about SMS: it loads whatever component ``component.json`` names, consumes
the step's queue, decrypts, calls the action's ``process``, and publishes what it emits.
The AllMySMS component it runs is :mod:`smsgate.elasticio`.
"""
