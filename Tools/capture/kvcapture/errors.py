class CaptureToolError(Exception):
    """A user-facing error: printed as `capture: error: <message>` with a non-zero exit."""
