"""The one exception of the signature library."""


class InvalidValue(ValueError):
    """A field's value cannot be normalised; the message says why, for the person who owns the data.

    The message may quote part of the value: show it to the data's owner, never log it on a server.
    """
