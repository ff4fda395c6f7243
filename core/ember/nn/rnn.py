"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step ``*Cell`` versions.

They are written in ember ops (a matmul for the whole sequence's input projection, then
one small matmul and pointwise gates per step), so autograd and every backend come for
free.  Parameter names, shapes, order and initialisation are PyTorch's, so a PyTorch
``state_dict`` loads unchanged: ``weight_ih_l{k}[_reverse]`` of shape
(gates * hidden_size, input size of layer k), ``weight_hh_l{k}``, ``bias_ih_l{k}``,
``bias_hh_l{k}`` and, for an LSTM with ``proj_size``, ``weight_hr_l{k}`` (proj_size,
hidden_size), which projects each step's hidden state; gates are stacked in PyTorch's
order (LSTM: i, f, g, o; GRU: r, z, n).
"""

from __future__ import annotations

import math
import warnings

from .. import ops as _ops
from ..errors import OpError
from ..ops.nn import linear as _linear
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

#: how many gate blocks each kind stacks in its weights
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# --- one time step (shared by the layers and the cells: one place for each rule) -------

def _rnn_step(mode: str, xi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None):
    """``act(xi + h @ w_hh.T + b_hh)`` where ``xi`` is the input's projection."""
    pre = xi + _linear(h, w_hh, b_hh)
    return pre.tanh() if mode == "RNN_TANH" else F.relu(pre)


def _lstm_step(xi: Tensor, state: tuple, w_hh: Tensor, b_hh: Tensor | None,
               w_hr: Tensor | None = None) -> tuple:
    """``(h', c')``; with a projection ``w_hr`` (proj_size, hidden_size), ``h'`` is the
    gated cell state's projection."""
    h, c = state
    i, f, g, o = (xi + _linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr is None else _linear(h, w_hr, None)), c


def _gru_step(xi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    # The reset gate scales the hidden projection *with* its bias (PyTorch's, cuDNN's
    # form), so the input and hidden projections stay separate until then.
    xr, xz, xn = xi.chunk(3, -1)
    hr, hz, hn = _linear(h, w_hh, b_hh).chunk(3, -1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return n + z * (h - n)


def _step(mode: str, xi: Tensor, state, w_hh: Tensor, b_hh: Tensor | None,
          w_hr: Tensor | None = None):
    if mode == "LSTM":
        return _lstm_step(xi, state, w_hh, b_hh, w_hr)
    if mode == "GRU":
        return _gru_step(xi, state, w_hh, b_hh)
    return _rnn_step(mode, xi, state, w_hh, b_hh)


def _reset_uniform(module: Module, hidden_size: int) -> None:
    """Every parameter uniform in ±1/sqrt(hidden_size), as PyTorch's recurrent layers."""
    stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -stdv, stdv)


def _mode_of(name: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: unknown nonlinearity {nonlinearity!r}, expected 'tanh' "
                         f"or 'relu'")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def _check_size(what: str, name: str, got: int, expected: int) -> None:
    if got != expected:
        raise OpError(f"{name}: {what} must be equal to {expected} (the layer's "
                      f"{'input_size' if what.startswith('input') else 'hidden_size'}), "
                      f"got {got}")


# --- sequence layers ----------------------------------------------------------------------

class RNNBase(Module):
    """The recurrent layers' shared parameters and sequence loop (PyTorch's ``RNNBase``)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] "
                             f"representing the probability of an element being zeroed, "
                             f"got {dropout!r}")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive integer, got "
                             f"{hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive integer, got "
                             f"{num_layers!r}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to "
                             f"disable projections, got {proj_size!r}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not "
                             f"RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got "
                             f"proj_size={proj_size} and hidden_size={hidden_size}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last "
                          f"recurrent layer, so non-zero dropout expects num_layers greater "
                          f"than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=3)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        kw = {"device": device, "dtype": dtype}
        gates = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        out = self._out_size
        for layer in range(num_layers):
            size_in = input_size if layer == 0 else out * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + sfx,
                        Parameter(_ops.empty((gates, size_in), **kw)))
                setattr(self, "weight_hh" + sfx,
                        Parameter(_ops.empty((gates, out), **kw)))
                if bias:
                    setattr(self, "bias_ih" + sfx, Parameter(_ops.empty(gates, **kw)))
                    setattr(self, "bias_hh" + sfx, Parameter(_ops.empty(gates, **kw)))
                if proj_size:
                    setattr(self, "weight_hr" + sfx,
                            Parameter(_ops.empty((proj_size, hidden_size), **kw)))
        self.reset_parameters()

    @property
    def _out_size(self) -> int:
        """The size of h (each step's output): ``proj_size`` where set, else
        ``hidden_size`` (PyTorch's ``real_hidden_size``)."""
        return self.proj_size or self.hidden_size

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs weights for cuDNN here; ember has no packed
        form, so code that calls it runs unchanged."""

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """The parameters per (layer, direction), in PyTorch's order."""
        dirs = 2 if self.bidirectional else 1
        return [[w for w in self._weights(layer, d) if w is not None]
                for layer in range(self.num_layers) for d in range(dirs)]

    def _weights(self, layer: int, d: int) -> tuple:
        """(weight_ih, weight_hh, bias_ih, bias_hh, weight_hr), None where absent."""
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        return (getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx),
                getattr(self, "bias_ih" + sfx) if self.bias else None,
                getattr(self, "bias_hh" + sfx) if self.bias else None,
                getattr(self, "weight_hr" + sfx) if self.proj_size else None)

    def _check_input(self, input: Tensor) -> bool:
        """Whether ``input`` is batched; raises naming the expected sizes otherwise."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise OpError(f"{name}: expected input to be 2-D (unbatched) or 3-D (batched), "
                          f"got {input.ndim}-D input of shape {list(input.shape)}")
        _check_size("input.size(-1)", name, input.shape[-1], self.input_size)
        return input.ndim == 3

    def _check_hidden(self, hx: Tensor, batched: bool, batch: int, what: str,
                      size: int) -> None:
        dirs = 2 if self.bidirectional else 1
        expected = (self.num_layers * dirs, batch, size) if batched \
            else (self.num_layers * dirs, size)
        if tuple(hx.shape) != expected:
            raise OpError(f"{type(self).__name__}: expected {what} of shape "
                          f"{list(expected)} ({'batched' if batched else 'unbatched'} "
                          f"input), got {list(hx.shape)}")

    def _run(self, input: Tensor, hx):
        """The sequence loop: ``input`` (T, B, I) and per-(layer, direction) states."""
        dirs = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        finals = []
        x = input
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
                k = layer * dirs + d
                state = (hx[0][k], hx[1][k]) if lstm else hx[k]
                # One matmul projects every time step's input; the loop only adds the
                # hidden state's projection.
                xi = _linear(x, w_ih, b_ih)
                steps = range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0])
                hs = [None] * x.shape[0]
                for t in steps:
                    state = _step(self.mode, xi[t], state, w_hh, b_hh, w_hr)
                    hs[t] = state[0] if lstm else state
                outs.append(_ops.stack(hs, 0))
                finals.append(state)
            x = outs[0] if dirs == 1 else _ops.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        if lstm:
            h_n = _ops.stack([s[0] for s in finals], 0)
            c_n = _ops.stack([s[1] for s in finals], 0)
            return x, (h_n, c_n)
        return x, _ops.stack(finals, 0)

    def _forward(self, input: Tensor, hx):
        batched = self._check_input(input)
        lstm = self.mode == "LSTM"
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[0] == 0:
            raise OpError(f"{type(self).__name__}: expected sequence length to be larger "
                          f"than 0, got input of shape {list(input.shape)}")
        batch = input.shape[1]
        dirs = 2 if self.bidirectional else 1
        if hx is None:
            def zeros(size: int) -> Tensor:
                return _ops.zeros((self.num_layers * dirs, batch, size), dtype=input.dtype,
                                  device=input.device)
            h = zeros(self._out_size)
            hx = (h, zeros(self.hidden_size) if self.proj_size else h) if lstm else h
        else:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{type(self).__name__}: hx must be a tuple (h_0, c_0)")
                for t, what, size in zip(hx, ("h_0", "c_0"),
                                         (self._out_size, self.hidden_size), strict=True):
                    self._check_hidden(t, batched, batch, what, size)
            else:
                self._check_hidden(hx, batched, batch, "hx", self.hidden_size)
            if not batched:
                hx = tuple(t.unsqueeze(1) for t in hx) if lstm else hx.unsqueeze(1)
        out, h = self._run(input, hx)
        if not batched:
            out = out.squeeze(1)
            h = tuple(t.squeeze(1) for t in h) if lstm else h.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, h

    def forward(self, input: Tensor, hx=None):
        return self._forward(input, hx)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` with ``act``
    tanh or relu.  ``forward(input, hx=None)`` returns ``(output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__(_mode_of("RNN", nonlinearity), input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """Long short-term memory; ``forward(input, hx=None)`` with ``hx = (h_0, c_0)``
    returns ``(output, (h_n, c_n))``.  With ``proj_size`` > 0 each step's hidden state
    is projected to ``proj_size`` by ``weight_hr_l{k}``: ``output`` and ``h_n`` have
    that size, ``c_n`` keeps ``hidden_size``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit; ``forward(input, hx=None)`` returns ``(output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# --- cells --------------------------------------------------------------------------------

class RNNCellBase(Module):
    """One time step with parameters ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh``; input (B, input_size) or unbatched (input_size,)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        gates = _GATES[mode] * hidden_size
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_ops.empty((gates, input_size), **kw))
        self.weight_hh = Parameter(_ops.empty((gates, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(_ops.empty(gates, **kw))
            self.bias_hh = Parameter(_ops.empty(gates, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    def _cell(self, input: Tensor, hx, lstm: bool):
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise OpError(f"{name}: expected input to be 1-D or 2-D, got {input.ndim}-D "
                          f"input of shape {list(input.shape)}")
        _check_size("input.size(-1)", name, input.shape[-1], self.input_size)
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        expected = (input.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if hx is None:
            z = _ops.zeros((input.shape[0], self.hidden_size), dtype=input.dtype,
                           device=input.device)
            hx = (z, z) if lstm else z
        else:
            for t in (hx if lstm else (hx,)):
                if tuple(t.shape) != expected:
                    raise OpError(f"{name}: expected hidden state of shape "
                                  f"{list(expected)}, got {list(t.shape)}")
            if not batched:
                hx = tuple(t.unsqueeze(0) for t in hx) if lstm else hx.unsqueeze(0)
        xi = _linear(input, self.weight_ih, self.bias_ih)
        out = _step(self.mode, xi, tuple(hx) if lstm else hx, self.weight_hh, self.bias_hh)
        if not batched:
            out = tuple(t.squeeze(0) for t in out) if lstm else out.squeeze(0)
        return out

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        return s


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``forward(input, hx=None)`` returns ``h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(_mode_of("RNNCell", nonlinearity), input_size, hidden_size, bias,
                         device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._cell(input, hx, False)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTMCell(RNNCellBase):
    """One LSTM step: ``forward(input, hx=None)`` with ``hx = (h, c)`` returns
    ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        return self._cell(input, hx, True)


class GRUCell(RNNCellBase):
    """One GRU step: ``forward(input, hx=None)`` returns ``h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._cell(input, hx, False)
