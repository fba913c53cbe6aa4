"""The one family of errors glr raises for problems a user can fix.

Every message names the thing that is wrong (a file, a column, a backbone) and, where
there is one, what to do about it. The CLI and the app show these messages as they are;
any other exception is a bug.
"""


class GlrError(Exception):
    """Base class: a problem with the user's input or environment, with a readable message."""


class ImageError(GlrError):
    """A file or upload is not an image glr can decode."""


class BlankImageError(ImageError):
    """An image that decodes but is one flat colour: nothing in it to learn or recognise."""


class DatasetError(GlrError):
    """A dataset folder or CSV cannot be read at all."""


class BackboneError(GlrError):
    """A backbone is unknown or its weights are not available here."""


class CheckpointError(GlrError):
    """A weights checkpoint is unreadable or holds something it should not."""
