"""Every op ember has, declared once (see ``ember.schema``), grouped by concept.

Importing this package fills ``ember.schema.registry``; ``ember.tensor_methods`` then
attaches the ops' Tensor methods and operators (``_methods``).  Modules:

``conversion``  dtype casts, device moves, copies (``astype``, ``to``, ``copy_``, ``clone``)
``creation``    factories (``zeros``, ``arange``, ``rand`` …)
``pointwise``   elementwise math with broadcasting and promotion
``reduction``   reductions with ``dim``/``keepdim``
``view``        shape and stride views
``indexing``    indexing, gather/scatter, masks, sort
``linalg``      matmul family, einsum, norms
``complex_numbers``  real/imag views, conj, angle, polar
``numeric``     special values and units (``nan_to_num``, ``fmax``, ``xlogy``, ``deg2rad`` …)
"""

from __future__ import annotations

from . import conversion, creation, pointwise, reduction, view, indexing, linalg  # noqa: F401
from .conversion import *  # noqa: F403
from .creation import *  # noqa: F403
from .pointwise import *  # noqa: F403
from . import elementary  # noqa: F401
from .elementary import *  # noqa: F403
from .reduction import *  # noqa: F403
from .view import *  # noqa: F403
from .indexing import *  # noqa: F403
from .linalg import *  # noqa: F403
from . import complex_numbers, fft  # noqa: F401
from .complex_numbers import *  # noqa: F403
from . import numeric  # noqa: F401
from .numeric import *  # noqa: F403
from . import array_api_ops  # noqa: F401  (linalg_svd …: reached as ember.linalg.*)
from . import distance  # noqa: F401  (cdist: reached through torch_functions.cdist)
from . import nn, optim, optim_adaptive  # noqa: F401  (composite nn ops, fused optimizer updates)
from . import amp  # noqa: F401  (GradScaler's fused unscale)
from .nn import *  # noqa: F403

_MODULES = ("conversion", "creation", "pointwise", "elementary", "reduction", "view",
            "indexing", "linalg", "complex_numbers", "numeric", "nn")
__all__ = [n for m in _MODULES for n in __import__(f"{__name__}.{m}", fromlist=["_"]).__all__]

