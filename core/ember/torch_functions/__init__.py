"""PyTorch's top-level functions that are front ends over ops, one module per concept:

* ``properties``: Python values (``numel``, ``is_nonzero`` …);
* ``shapes``: ``ravel``, ``swapdims``, ``atleast_2d``, flips, ``rot90``, ``meshgrid``'s
  ``'ij'`` default …;
* ``joining``: ``hstack`` & co., ``tensor_split`` & co., ``cartesian_prod``;
* ``creation``: ``tril_indices``, ``triu_indices``, ``logspace``;
* ``sampling``: ``normal``, ``multinomial``;
* ``indexing``: flat ``take``, ``take_along_dim``, ``index_fill``, ``masked_scatter``,
  ``slice_scatter``, ``select_scatter``, ``diagonal_scatter`` …;
* ``reducing_scatter``: ``scatter_reduce``, ``index_reduce``;
* ``sorting``: ``msort``, ``searchsorted``, ``bucketize``;
* ``sets``: ``unique``, ``unique_consecutive``, ``isin``;
* ``products``: ``tensordot``, ``inner``, ``addmm``, ``addmv``, ``addr``, ``kron``, ``cross`` …;
* ``diagonals``: ``diagonal``, ``trace``, ``diag``, ``diag_embed``, ``diagflat``;
* ``matrices``: ``det``/``inverse``/``logdet``/``svd``/``matrix_power``/``matrix_exp`` over
  ``ember.linalg``; ``block_diag``, ``vander``;
* ``reductions``: ``nansum``, ``nanmean``, ``aminmax``, ``renorm``, ``trapezoid``,
  ``cumulative_trapezoid``;
* ``scans``: ``cummax``, ``cummin``, ``diff``;
* ``statistics``: ``median``, ``kthvalue``, ``mode``, ``quantile``, ``nanquantile``, ``histc``,
  ``cov``, ``corrcoef`` …;
* ``distances``: ``dist``, ``cdist``, ``cosine_similarity``;
* ``arithmetic``: ``absolute``/``clip``, ``ldexp``, ``frexp``, ``gcd``, ``lcm``, ``float_power``,
  ``logit``.

They return what PyTorch returns (Python numbers, tuples, named tuples), compose ops
only (autograd differentiates them through those ops) and refuse what PyTorch refuses,
naming the function.  ``install_methods`` (``methods``) attaches the ones PyTorch also has
as Tensor methods, with a few methods that are pure front ends (``byte``, ``nelement``,
``H`` …).
"""

from __future__ import annotations

from . import (arithmetic, creation, diagonals, distances, indexing, joining, matrices,
               products, properties, reducing_scatter, reductions, sampling, scans, sets,
               shapes, sorting, statistics)
from .arithmetic import *  # noqa: F403
from .creation import *  # noqa: F403
from .diagonals import *  # noqa: F403
from .distances import *  # noqa: F403
from .indexing import *  # noqa: F403
from .joining import *  # noqa: F403
from .matrices import *  # noqa: F403
from .methods import install_methods  # noqa: F401  (ember.tensor_methods calls it)
from .products import *  # noqa: F403
from .reducing_scatter import *  # noqa: F403
from .properties import *  # noqa: F403
from .reductions import *  # noqa: F403
from .sampling import *  # noqa: F403
from .scans import *  # noqa: F403
from .sets import *  # noqa: F403
from .shapes import *  # noqa: F403
from .sorting import *  # noqa: F403
from .statistics import *  # noqa: F403

__all__ = [name for module in (properties, shapes, joining, creation, sampling, indexing,
                               sorting, sets, products, diagonals, matrices, reductions,
                               reducing_scatter,
                               scans, statistics, distances, arithmetic)
           for name in module.__all__]
