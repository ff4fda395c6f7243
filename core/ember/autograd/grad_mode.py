"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each is a context manager and a decorator, and is thread-local: it flips
``ember.dispatch.state``, which the dispatcher reads to decide whether the Autograd key
is part of a call's keyset.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

from ..dispatch import state

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "is_inference_mode_enabled"]


def is_grad_enabled() -> bool:
    """Whether ops on tensors that require grad are recorded (in this thread)."""
    return state.grad_enabled


def is_inference_mode_enabled() -> bool:
    """Whether ``inference_mode`` is active (in this thread)."""
    return state.inference_mode


class _Mode:
    """Base of the grad-mode context managers; subclasses set ``_grad``/``_inference``.

    Used as a decorator (``@no_grad()`` or ``@no_grad``), the mode is entered on every
    call of the function, and generators keep it across their ``yield``s.
    """

    _grad: bool = True
    _inference: bool | None = None  # None: leave inference mode as it is

    def __new__(cls, func: Callable | None = None, *args, **kwargs):
        # ``@no_grad`` without parentheses: decorate straight away.
        if cls is not set_grad_enabled and callable(func) and not args and not kwargs:
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs) -> None:
        self._saved: list = []

    def __enter__(self) -> None:
        self._saved.append((state.grad_enabled, state.inference_mode))
        state.grad_enabled = self._grad
        if self._inference is not None:
            state.inference_mode = self._inference

    def __exit__(self, *exc) -> None:
        state.grad_enabled, state.inference_mode = self._saved.pop()

    def clone(self) -> _Mode:
        return self.__class__()

    def __call__(self, func: Callable) -> Callable:
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def gen_wrapper(*args, **kwargs):
                gen = func(*args, **kwargs)
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as e:
                        with self.clone():
                            response = gen.throw(e)
                    else:
                        with self.clone():
                            try:
                                response = gen.send(request)
                            except StopIteration as stop:
                                return stop.value
            return gen_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_Mode):
    """Disable recording: results of ops do not require grad, even if inputs do."""

    _grad = False


class enable_grad(_Mode):
    """Enable recording (inside ``no_grad``); inference mode still wins."""

    _grad = True

    def __enter__(self) -> None:
        self._saved.append((state.grad_enabled, state.inference_mode))
        state.grad_enabled = not state.inference_mode


class set_grad_enabled(_Mode):
    """``set_grad_enabled(mode)``: enable or disable recording.  Takes effect at once
    (as a function call) and is undone on leaving a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'mode' must be bool, not "
                            f"{type(mode).__name__}")
        self._grad = mode
        self._prev = (state.grad_enabled, state.inference_mode)
        state.grad_enabled = mode

    def __enter__(self) -> None:
        self._saved.append(self._prev)
        state.grad_enabled = self._grad

    def clone(self) -> set_grad_enabled:
        prev = (state.grad_enabled, state.inference_mode)
        c = set_grad_enabled(self._grad)
        state.grad_enabled, state.inference_mode = prev
        c._prev = prev
        return c


class inference_mode(_Mode):
    """Like ``no_grad``, for code that will never need gradients.

    ``inference_mode(False)`` leaves the current modes unchanged.  (Unlike PyTorch,
    tensors made inside are ordinary tensors: ember has no separate inference tensors.)
    """

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self._mode = bool(mode)

    def __enter__(self) -> None:
        self._saved.append((state.grad_enabled, state.inference_mode))
        if self._mode:
            state.grad_enabled = False
            state.inference_mode = True

    def clone(self) -> inference_mode:
        return inference_mode(self._mode)
