"""ember: a PyTorch-like tensor and deep-learning framework with plugin backends.

The core (this package) defines the op schema, dispatcher, Tensor, autograd and nn;
hardware backends are pluggy plugins (``pip install ember[cpu]``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import dtypes as _dtypes
from .backend import PLUGIN_API_VERSION, Backend
from .device import (device, device_count, get_default_device, is_available,
                     set_default_device, synchronize)
from .dtypes import (bfloat16, bool, can_cast, complex64, complex128, dtype, finfo,
                     float16, float32, float64, get_default_dtype, iinfo, int8, int16,
                     int32, int64, promote_types, result_type, set_default_dtype, uint8)
from .errors import (BackendUnavailableError, DeviceError, EmberError,
                     NotImplementedForDevice, OpError, OutOfMemoryError, PluginError)
from .tensor import Size, Tensor, as_tensor, from_numpy, is_tensor, tensor
from . import ops as _ops
from .ops import *
from . import memory, schema
from . import autograd
from .autograd import (enable_grad, inference_mode, is_grad_enabled,
                       is_inference_mode_enabled, no_grad, set_grad_enabled)
from .dlpack import from_dlpack
from .device_module import get_device_module
from . import array_api
from . import linalg  # torch.linalg's names (norm, svd, solve …)
from . import fft  # torch.fft's names
from . import torch_functions as _torch_functions
from .torch_functions import *  # PyTorch's front-end functions (hstack, meshgrid, median …)
from . import tensor_methods as _tensor_methods
_tensor_methods.attach()  # the methods Tensor's class body leaves to the layers above
# The Array API standard's names that PyTorch lacks (concat, permute_dims …).
_ARRAY_API = array_api.top_level_names(globals())
globals().update({_n: array_api.top_level_object(_n) for _n in _ARRAY_API})
from .random import Generator, initial_seed, manual_seed, seed
from .serialization import load, save
from ._format import set_printoptions

half, double, long, short = float16, float64, int64, int16
cfloat, cdouble = complex64, complex128

schema.save_code_cache()


#: device types with a module attribute (``ember.cuda``); any other's module comes from
#: ``get_device_module(type)``.
_DEVICE_MODULES = ("cuda", "xpu", "rocm", "jetson")


def __getattr__(name: str):
    # pluggy (and importlib.metadata behind it) load only when plugins are first needed,
    # which keeps `import ember` fast; `ember.hookimpl` and `ember.plugins` trigger it.
    if name == "hookimpl":
        from .hookspecs import hookimpl
        return hookimpl
    if name in ("plugins", "nn", "optim", "utils", "distributed", "amp", "jit",
                "multiprocessing"):  # nn & co. load on first use
        import importlib
        return importlib.import_module(f".{name}", __name__)
    if name in _DEVICE_MODULES:  # ember.cuda.is_available() …, as torch.cuda's
        return get_device_module(name)
    if name in ("autocast", "is_autocast_enabled", "get_autocast_dtype"):
        from . import amp
        return getattr(amp, name)
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
float = float32

__all__ = [
    "__version__", "PLUGIN_API_VERSION", "Backend", "hookimpl",
    # tensors, devices, dtypes
    "Tensor", "Size", "tensor", "as_tensor", "from_numpy", "is_tensor",
    "device", "device_count", "is_available", "synchronize", "set_default_device",
    "get_default_device", "get_device_module", "cuda", "xpu", "rocm", "jetson",
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "half", "float", "double", "long", "short",
    "complex64", "complex128", "cfloat", "cdouble",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type", "can_cast",
    "finfo", "iinfo",
    # errors
    "EmberError", "OpError", "DeviceError", "BackendUnavailableError",
    "NotImplementedForDevice", "OutOfMemoryError", "PluginError",
    # random
    "Generator", "manual_seed", "seed", "initial_seed",
    # submodules
    "memory", "plugins", "schema", "autograd", "linalg", "fft", "nn", "optim", "utils",
    "distributed", "amp", "jit", "multiprocessing",
    # mixed precision
    "autocast", "is_autocast_enabled", "get_autocast_dtype",
    # serialization, printing
    "save", "load", "set_printoptions",
    # grad modes
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "is_inference_mode_enabled",
    # interop (DLPack)
    "from_dlpack",
] + [n for n in _ops.__all__ if not n.startswith("_")] + _torch_functions.__all__ + _ARRAY_API
