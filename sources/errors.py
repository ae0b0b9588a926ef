"""The error every source raises for bad input: one line, naming the file and the problem."""


class SourceError(RuntimeError):
    pass
