"""What a compute agent does, one module per kind of work; manager.py only dispatches."""
