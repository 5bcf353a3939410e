"""The AllMySMS component for elastic.io: the Send action, the credential check, the credentials.

``component.json`` at the repository root names these modules; :mod:`smsgate.sailor` is the
runtime that loads and runs them, and knows nothing about SMS.
"""
