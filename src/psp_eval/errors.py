"""The one base class of the errors a user can fix: the command line shows their message on
one line and exits 1, never a traceback. Each layer subclasses it (ContractError, RenderError,
...); this module imports nothing, so any layer may use it."""


class PspEvalError(Exception):
    """A problem in the inputs, settings or state of a run, with a message saying what to fix."""
