"""What the faces do with the gateway and the message store together: cancel a recorded
message, pull the receipts webhooks missed. Above both, so that the store only stores and the
gateway only sends; the CLI and the service call these, never one through the other."""
