"""The elastic.io component: the Send action, the credential check, and a Python sailor.

(Work in progress for the elastic.io issue: the message crypto is here so far.)
"""
