"""ember.distributed: collectives, DDP and the launcher, on real MPI ranks (mpiexec from
the mpich wheel) and local processes; every multi-process test is bounded by a timeout."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "distributed"

try:
    import mpi4py  # noqa: F401  (only checks it is installed; MPI starts in the ranks)
    from ember.distributed.run import _mpiexec
    MPIEXEC = _mpiexec()
except ImportError:
    MPIEXEC = None
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason="needs mpi4py and mpiexec: pip "
                               "install 'ember[distributed]'")


def ember_run(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ember", "run", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def ok_lines(p: subprocess.CompletedProcess, n: int) -> None:
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    for r in range(n):
        assert f"OK rank {r}" in p.stdout, p.stdout[-3000:]


@needs_mpi
def test_collectives_match_numpy_on_4_ranks():
    ok_lines(ember_run("-n", 4, HERE / "collectives_rank.py"), 4)


@needs_mpi
def test_ddp_matches_one_process_on_the_whole_batch():
    ok_lines(ember_run("-n", 2, HERE / "ddp_rank.py"), 2)


def _script(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "rank.py"
    p.write_text(textwrap.dedent(body))
    return p


@needs_mpi
def test_a_raising_rank_stops_every_rank_with_its_traceback(tmp_path):
    s = _script(tmp_path, """
        import time, ember.distributed as dist
        dist.init_process_group("mpi")
        if dist.get_rank() == 2:
            raise ValueError("rank two fails on purpose")
        time.sleep(60)
        print("survived")
    """)
    t = time.monotonic()
    p = ember_run("-n", 4, s)
    assert time.monotonic() - t < 45
    assert p.returncode != 0
    assert "rank two fails on purpose" in p.stdout + p.stderr
    assert "survived" not in p.stdout


def test_local_launcher_prefixes_ranks_and_sets_the_env_rendezvous(tmp_path):
    s = _script(tmp_path, """
        import os
        print("env", os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["LOCAL_RANK"],
              os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]) > 0)
    """)
    p = ember_run("-n", 3, "--launcher", "local", s)
    assert p.returncode == 0, p.stderr
    for r in range(3):
        assert f"[{r}] env {r} 3 {r} 127.0.0.1 True" in p.stdout


def test_local_launcher_stops_the_others_when_one_fails(tmp_path):
    s = _script(tmp_path, """
        import os, sys, time
        if os.environ["RANK"] == "1":
            sys.exit(3)
        time.sleep(60)
    """)
    t = time.monotonic()
    p = ember_run("-n", 3, "--launcher", "local", s)
    assert p.returncode == 3 and time.monotonic() - t < 30


def test_launcher_timeout_stops_a_hanging_job(tmp_path):
    s = _script(tmp_path, "import time\ntime.sleep(60)\n")
    t = time.monotonic()
    p = ember_run("-n", 2, "--launcher", "local", "--timeout", 2, s)
    assert p.returncode == 124 and "timeout" in p.stderr
    assert time.monotonic() - t < 20


def _in_subprocess(code: str, env=None) -> subprocess.CompletedProcess:
    # A fresh process: MPI initialises once per process and must not touch pytest's.
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_using_the_api_before_init_or_twice_is_refused():
    p = _in_subprocess("""
        import ember, ember.distributed as dist
        try:
            dist.get_rank()
        except RuntimeError as e:
            assert "init_process_group" in str(e)
        else:
            raise SystemExit("no error before init")
        try:
            dist.init_process_group("gloo")
        except ValueError as e:
            assert "unknown backend 'gloo'" in str(e) and "mpi" in str(e), e
        else:
            raise SystemExit("gloo accepted")
        assert not dist.is_initialized()
        print("fine")
    """)
    assert p.returncode == 0 and "fine" in p.stdout, p.stderr


@needs_mpi
def test_mpi_engine_outside_mpiexec_says_how_to_start_ranks():
    p = _in_subprocess("""
        import ember.distributed as dist
        dist.init_process_group("mpi")
    """, env={"WORLD_SIZE": "2", "RANK": "0"})
    assert p.returncode != 0
    assert "ember run -n 2" in p.stderr


@needs_mpi
def test_single_process_group_runs_and_refuses_a_second_init():
    p = _in_subprocess("""
        import ember, ember.distributed as dist
        dist.init_process_group("mpi")
        x = ember.arange(4.0)
        dist.all_reduce(x, dist.ReduceOp.AVG)
        assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
        try:
            dist.init_process_group("mpi")
        except RuntimeError as e:
            assert "twice" in str(e)
        else:
            raise SystemExit("second init accepted")
        print("fine")
    """)
    assert p.returncode == 0 and "fine" in p.stdout, p.stderr


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 4, False),
                                                   (9, 3, False), (0, 2, False)])
def test_distributed_sampler_without_shuffle_matches_pytorch(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    from ember.utils.data import DistributedSampler
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    del torch


def test_distributed_sampler_shuffles_one_order_split_across_ranks():
    from ember.utils.data import DistributedSampler
    data = list(range(11))
    shares = [list(DistributedSampler(data, 3, r, seed=5)) for r in range(3)]
    flat = sorted(i for s in shares for i in s)
    assert len(flat) == 12 and set(flat) == set(data)  # one index repeated as padding
    again = [list(DistributedSampler(data, 3, r, seed=5)) for r in range(3)]
    assert shares == again
    s = DistributedSampler(data, 3, 0, seed=5)
    s.set_epoch(1)
    assert list(s) != shares[0]
    with pytest.raises(ValueError, match="Invalid rank 3"):
        DistributedSampler(data, 3, 3)


@needs_mpi
@pytest.mark.slow
def test_digits_demo_under_ddp_reaches_the_demo_accuracy(tmp_path):
    # The single-process demo's floor (tests/test_demo.py, README): >= 95 % test accuracy.
    example = Path(__file__).parents[1] / "examples" / "train_digits_ddp.py"
    p = ember_run("-n", 2, example, "--epochs", 8, "--out", tmp_path, timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    import json
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["ranks"] == 2 and metrics["test_accuracy"] >= 0.95, metrics
