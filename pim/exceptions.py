"""Errors shared by every app's services, mapped onto HTTP once (pim/api.py for the API)."""


class IllegalStateChange(Exception):
    """A state machine has no such move: a ticket's status, a maintenance notice's status.

    The API answers 409 Conflict; pages show the message. Subclasses name the machine.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
