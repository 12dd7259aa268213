from .executor import run, run_trace

__all__ = ["run", "run_trace"]
