"""One rank of tests/test_distributed.py::test_collectives_match_numpy: every collective
and dtype against numpy's answer computed from all ranks' inputs.  Prints one OK line."""

import numpy as np

import ember
import ember.distributed as dist

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
DTYPES = ["float32", "float64", "int32", "int64", "int8", "uint8", "float16", "bfloat16",
          "bool"]


def data(rank: int, dtype: str, shape=(2, 3)) -> np.ndarray:
    """Rank ``rank``'s input: small values so sums and products stay exact."""
    a = (np.arange(np.prod(shape)).reshape(shape) % 3 + rank + 1)
    if dtype == "bool":
        return (a + rank) % 2 == 0
    return a.astype(np.float64)


def et(a: np.ndarray, dtype: str):
    return ember.tensor(a, dtype=getattr(ember, dtype))


def same(t, expected: np.ndarray, what: str) -> None:
    got = np.asarray(t.float().tolist() if t.dtype in (ember.bfloat16, ember.float16)
                     else t.tolist())
    assert got.shape == expected.shape and np.allclose(got, expected.astype(got.dtype)), \
        f"rank {r}: {what}: got {got}, expected {expected}"


for dt in DTYPES:
    ins = [data(k, dt).astype(np.float64) for k in range(n)]
    stack = np.stack(ins)
    if dt.startswith(("int", "uint")):  # MPI wraps around as the dtype does
        stack = np.stack([et(a, dt).numpy() for a in ins])
    ops = {dist.ReduceOp.SUM: stack.sum(0, dtype=stack.dtype),
           dist.ReduceOp.PRODUCT: stack.prod(0, dtype=stack.dtype),
           dist.ReduceOp.MAX: stack.max(0), dist.ReduceOp.MIN: stack.min(0)}
    if dt == "bool":
        ops = {dist.ReduceOp.SUM: stack.any(0), dist.ReduceOp.MAX: stack.any(0),
               dist.ReduceOp.MIN: stack.all(0), dist.ReduceOp.PRODUCT: stack.all(0)}
    if dt in ("float32", "float64", "float16", "bfloat16"):
        ops[dist.ReduceOp.AVG] = stack.mean(0)
    for op, want in ops.items():
        x = et(ins[r], dt)
        v0 = x._version
        dist.all_reduce(x, op)
        same(x, want, f"all_reduce {op} {dt}")
        assert x._version > v0, "all_reduce must count as an in-place write"
        x = et(ins[r], dt)
        dist.reduce(x, dst=n - 1, op=op)
        same(x, want if r == n - 1 else ins[r], f"reduce {op} {dt}")
    # async: the handle finishes the same operation
    x = et(ins[r], dt)
    w = dist.all_reduce(x, async_op=True)
    assert w.wait() and w.is_completed() and w.result()[0] is x
    same(x, ops[dist.ReduceOp.SUM], f"async all_reduce {dt}")
    # broadcast from the last rank
    x = et(ins[r], dt)
    dist.broadcast(x, src=n - 1)
    same(x, ins[n - 1], f"broadcast {dt}")
    # all_gather / all_gather_into_tensor
    outs = [ember.zeros(2, 3, dtype=getattr(ember, dt)) for _ in range(n)]
    dist.all_gather(outs, et(ins[r], dt))
    for k in range(n):
        same(outs[k], ins[k], f"all_gather[{k}] {dt}")
    big = ember.zeros(2 * n, 3, dtype=getattr(ember, dt))
    dist.all_gather_into_tensor(big, et(ins[r], dt))
    same(big, np.concatenate(ins), f"all_gather_into_tensor {dt}")
    # gather to rank 0, scatter from rank 1
    lst = [ember.zeros(2, 3, dtype=getattr(ember, dt)) for _ in range(n)] if r == 0 else None
    dist.gather(et(ins[r], dt), lst, dst=0)
    if r == 0:
        for k in range(n):
            same(lst[k], ins[k], f"gather[{k}] {dt}")
    src_list = [et(data(k + 10, dt), dt) for k in range(n)] if r == 1 else None
    got = ember.zeros(2, 3, dtype=getattr(ember, dt))
    dist.scatter(got, src_list, src=1)
    same(got, data(r + 10, dt).astype(np.float64), f"scatter {dt}")
    # reduce_scatter: rank k gets part k of the sum
    if dt != "bool":
        parts = [data(k + r, dt).astype(np.float64) for k in range(n)]
        out = ember.zeros(2, 3, dtype=getattr(ember, dt))
        dist.reduce_scatter(out, [et(p, dt) for p in parts])
        want = sum(data(r + k, dt).astype(np.float64) for k in range(n))
        same(out, want, f"reduce_scatter {dt}")
        out = ember.zeros(2, 3, dtype=getattr(ember, dt))
        dist.reduce_scatter_tensor(out, et(np.concatenate(parts), dt))
        same(out, want, f"reduce_scatter_tensor {dt}")

# point to point, in a ring, blocking and not
right, left = (r + 1) % n, (r - 1) % n
buf = ember.zeros(4)
w = dist.irecv(buf, src=left, tag=7)
s = dist.isend(ember.full((4,), float(r)), dst=right, tag=7)
w.wait()
s.wait()
same(buf, np.full(4, float(left)), "isend/irecv ring")
if r == 0:
    for _ in range(n - 1):
        got = ember.zeros(1)
        sender = dist.recv(got)  # from any rank
        same(got, np.array([float(sender) * 10]), "recv from any source")
else:
    dist.send(ember.full((1,), float(r) * 10), dst=0)

# subgroups: odd ranks only, global ranks as src
odd = dist.new_group([k for k in range(n) if k % 2 == 1])
if r % 2 == 1:
    assert dist.get_world_size(odd) == n // 2 and dist.get_rank(odd) == r // 2
    x = ember.full((2,), float(r))
    dist.all_reduce(x, group=odd)
    same(x, np.full(2, float(sum(k for k in range(n) if k % 2 == 1))), "subgroup all_reduce")
    y = ember.full((1,), float(r))
    dist.broadcast(y, src=n - 1 if (n - 1) % 2 else n - 2, group=odd)
else:
    assert odd is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(odd) == -1

# bad input: named op, argument, expectation; the data is untouched
x = ember.tensor([1, 2], dtype=ember.int64)
for call, kind, words in [
        (lambda: dist.all_reduce(x, dist.ReduceOp.AVG), TypeError, "AVG"),
        (lambda: dist.all_gather([x], x), ValueError, "tensor_list"),
        (lambda: dist.all_reduce(ember.zeros(3, 4).t()), ValueError, "contiguous"),
        (lambda: dist.broadcast(x, src=n), ValueError, "src"),
        (lambda: dist.all_reduce(x.numpy()), TypeError, "ember.Tensor")]:
    try:
        call()
    except kind as e:
        assert words in str(e), e
    else:
        raise AssertionError(f"no {kind.__name__} for {words}")
assert x.tolist() == [1, 2]

w = dist.barrier(async_op=True)
w.wait()
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"OK rank {r}", flush=True)
