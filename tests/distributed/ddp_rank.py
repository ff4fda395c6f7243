"""One rank of tests/test_distributed.py::test_ddp_*: DDP on 2 ranks with batch b each
ends with the parameters of one process trained on batch 2b (50 SGD steps); no_sync
accumulation and unused-parameter detection also match.  Prints one OK line."""

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
B, STEPS = 8, 50


def model(seed: int) -> nn.Module:
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


rng = np.random.default_rng(0)  # the same data on every rank; each takes its share
X = rng.standard_normal((STEPS, n * B, 6)).astype(np.float32)
Y = rng.integers(0, 3, (STEPS, n * B))


def train(m, shard: bool, accumulate: int = 1) -> None:
    opt = ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for s in range(STEPS):
        x, y = X[s], Y[s]
        if shard:
            x, y = x[r * B:(r + 1) * B], y[r * B:(r + 1) * B]
        opt.zero_grad()
        chunks = np.array_split(np.arange(len(x)), accumulate)
        for i, idx in enumerate(chunks):
            ctx = m.no_sync() if (shard and i < accumulate - 1) else _null()
            with ctx:
                out = m(ember.tensor(x[idx]))
                loss = loss_fn(out, ember.tensor(y[idx])) * (len(idx) / len(x))
                loss.backward()
        opt.step()


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def params(m) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in m.parameters()]


reference = model(0)
train(reference, shard=False)
want = params(reference)

for accumulate in (1, 2):
    ddp = DDP(model(100 + r), bucket_cap_mb=0.0005)  # other init: DDP broadcasts rank 0's
    assert len(ddp._buckets) > 1, "the test must cover several buckets"
    ember.manual_seed(0)
    # rank 0's init is model(100), not model(0): broadcast then retrain from model(0)'s
    ddp.module.load_state_dict(model(0).state_dict())
    train(ddp, shard=True, accumulate=accumulate)
    for k, (a, b) in enumerate(zip(params(ddp.module), want, strict=True)):
        assert np.allclose(a, b, rtol=1e-4, atol=1e-5), \
            f"rank {r}, accumulate={accumulate}: parameter {k} differs by {abs(a - b).max()}"

# no_sync: backward inside it starts no communication at all
calls = []
_all_reduce = dist.all_reduce
dist.all_reduce = lambda *a, **k: (calls.append(1), _all_reduce(*a, **k))[1]
ddp = DDP(model(0))
with ddp.no_sync():
    ddp(ember.ones(2, 6)).sum().backward()
assert not calls, f"no_sync() must not communicate, saw {len(calls)} all_reduce calls"
ddp(ember.ones(2, 6)).sum().backward()
assert calls, "the synced backward after no_sync() must all-reduce"
dist.all_reduce = _all_reduce

# the broadcast at construction: rank 1's different init is replaced by rank 0's
ddp = DDP(model(100 + r))
got = params(ddp.module)
for a, b in zip(got, params(model(100)), strict=True):
    assert np.array_equal(a, b), "DDP must start from rank 0's parameters"


# unused parameters: a head only rank 0 uses
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 1), nn.Linear(4, 1)

    def forward(self, x, head):
        return (self.a if head == "a" else self.b)(self.body(x))


ember.manual_seed(1)
m = DDP(TwoHeads(), find_unused_parameters=True)
x = ember.ones(2, 4)
m(x, "a" if r == 0 else "b").sum().backward()
ga, gb = m.module.a.weight.grad, m.module.b.weight.grad
assert ga is not None and gb is not None, "a head used on some rank gets the averaged grad"
m.zero_grad()
m(x, "a").sum().backward()
assert m.module.b.weight.grad is None, "a head unused everywhere keeps grad None"

# without detection, an unused parameter is reported at the next forward
m = DDP(TwoHeads())
m(x, "a").sum().backward()
try:
    m(x, "a")
except RuntimeError as e:
    assert "find_unused_parameters=True" in str(e), e
else:
    raise AssertionError("an unfinished reduction must be reported")
dist.destroy_process_group()
print(f"OK rank {r}", flush=True)
