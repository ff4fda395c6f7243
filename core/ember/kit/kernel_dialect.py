"""OpenCL C kernel sources as CUDA C: one kernel source, two GPU dialects.

ember's generated kernels (ember-rocm's ``*.cl`` templates and the sources its Python
side generates) are written in the part of OpenCL C that CUDA C++ shares up to a few
names: address-space qualifiers, work-item functions, the work-group barrier, the
unsigned type names and a handful of built-ins.  :func:`opencl_to_cuda` puts
:data:`CUDA_PREAMBLE` -- macros, typedefs and ``__device__`` functions giving those
names their CUDA meaning -- in front of such a source and makes the two line-level
rewrites a macro cannot: OpenCL extension pragmas are dropped (CUDA has no such
switches) and helper functions declared ``inline`` at the start of a line become
``__device__ inline`` (CUDA compiles an unqualified function for the host only).

The rules a shared source follows (checked by compiling every generated kernel with
``nvcc``: plugins/cuda/tests/test_cuda_kernel_sources.py):

* kernels are ``__kernel void name(...)``; helper functions start their line with
  ``inline``;
* buffers are ``__global T*`` parameters, work-group memory is a ``__local`` array
  declared in the kernel body (no ``__local`` pointer parameters, no ``__constant``);
* ``long`` means 64 bits (true of CUDA on 64-bit Linux; the preamble asserts it);
* a complex value is built with ``CPLX(re, im)`` (an OpenCL vector literal
  ``(float2)(re, im)`` is a comma expression in C++); ``+``, ``-`` and ``convert_*``
  on ``float2``/``double2`` are provided;
* only the built-ins this preamble names, beyond those both languages spell alike
  (``exp``, ``fmax``, ``isnan``, ``min`` on integers ...).

Work-item geometry: OpenCL's global size is CUDA's grid times block, so a launch of
global size ``G`` with work groups of ``L`` is ``grid = G / L`` blocks of ``L``
threads per dimension (``get_global_id(d)`` is ``blockIdx * blockDim + threadIdx``).

This module only transforms text; it imports nothing and compiles nothing.
"""

from __future__ import annotations

import re

__all__ = ["CUDA_PREAMBLE", "opencl_to_cuda", "kernel_names", "defined_macros"]

#: What OpenCL C names mean in CUDA C++.  ``EMBER_KERNEL_LINKAGE`` (default
#: ``extern "C"``: unmangled names for ``cupy.RawModule.get_function``) may be defined
#: empty first, so that many sources can share one translation unit, each in its own
#: namespace.
CUDA_PREAMBLE = r"""// ---- OpenCL C in CUDA C++ (ember.kit.kernel_dialect) ----
#include <cuda_fp16.h>
#ifndef EMBER_KERNEL_LINKAGE
#define EMBER_KERNEL_LINKAGE extern "C"
#endif
#define __kernel EMBER_KERNEL_LINKAGE __global__
#define __global
#define __local __shared__
#define __private
#define CLK_LOCAL_MEM_FENCE 1
#define CLK_GLOBAL_MEM_FENCE 2
#define barrier(flags) __syncthreads()
#define CPLX(re, im) ember_cplx((C_*)0, (re), (im))
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
typedef __half half;
static_assert(sizeof(long) == 8, "ember's kernels need a 64-bit long (OpenCL's long)");

__device__ inline size_t ember_dim3_(const dim3 v, int d) {
    return d == 0 ? v.x : d == 1 ? v.y : v.z;
}
__device__ inline size_t ember_uint3_(const uint3 v, int d) {
    return d == 0 ? v.x : d == 1 ? v.y : v.z;
}
__device__ inline size_t get_local_id(int d) { return ember_uint3_(threadIdx, d); }
__device__ inline size_t get_group_id(int d) { return ember_uint3_(blockIdx, d); }
__device__ inline size_t get_local_size(int d) { return ember_dim3_(blockDim, d); }
__device__ inline size_t get_num_groups(int d) { return ember_dim3_(gridDim, d); }
__device__ inline size_t get_global_id(int d) {
    return get_group_id(d) * get_local_size(d) + get_local_id(d);
}
__device__ inline size_t get_global_size(int d) { return get_num_groups(d) * get_local_size(d); }

// reinterpreting casts and 16-bit float storage
__device__ inline float as_float(uint u) { return __uint_as_float(u); }
__device__ inline uint as_uint(float f) { return __float_as_uint(f); }
__device__ inline float vload_half(size_t i, const half* p) { return __half2float(p[i]); }
__device__ inline void vstore_half_rte(float v, size_t i, half* p) { p[i] = __float2half_rn(v); }

// atomics (OpenCL 1.x names; 64-bit ones from cl_khr_int64_base_atomics)
__device__ inline int atomic_add(volatile int* p, int v) { return atomicAdd((int*)p, v); }
__device__ inline uint atomic_add(volatile uint* p, uint v) { return atomicAdd((uint*)p, v); }
__device__ inline int atomic_cmpxchg(volatile int* p, int c, int v) {
    return atomicCAS((int*)p, c, v);
}
__device__ inline uint atomic_cmpxchg(volatile uint* p, uint c, uint v) {
    return atomicCAS((uint*)p, c, v);
}
__device__ inline long atom_add(volatile long* p, long v) {
    return (long)atomicAdd((unsigned long long*)p, (unsigned long long)v);
}
__device__ inline long atom_cmpxchg(volatile long* p, long c, long v) {
    return (long)atomicCAS((unsigned long long*)p, (unsigned long long)c,
                           (unsigned long long)v);
}
__device__ inline ulong atom_cmpxchg(volatile ulong* p, ulong c, ulong v) {
    return (ulong)atomicCAS((unsigned long long*)p, (unsigned long long)c,
                            (unsigned long long)v);
}

// complex values as float2 / double2 (OpenCL's vector arithmetic, component-wise)
__device__ inline float2 ember_cplx(float2*, float re, float im) { return make_float2(re, im); }
__device__ inline double2 ember_cplx(double2*, double re, double im) {
    return make_double2(re, im);
}
__device__ inline float2 operator+(float2 a, float2 b) { return make_float2(a.x + b.x, a.y + b.y); }
__device__ inline float2 operator-(float2 a, float2 b) { return make_float2(a.x - b.x, a.y - b.y); }
__device__ inline float2 operator-(float2 a) { return make_float2(-a.x, -a.y); }
__device__ inline double2 operator+(double2 a, double2 b) {
    return make_double2(a.x + b.x, a.y + b.y);
}
__device__ inline double2 operator-(double2 a, double2 b) {
    return make_double2(a.x - b.x, a.y - b.y);
}
__device__ inline double2 operator-(double2 a) { return make_double2(-a.x, -a.y); }
__device__ inline float2 convert_float2(double2 a) { return make_float2((float)a.x, (float)a.y); }
__device__ inline double2 convert_double2(float2 a) { return make_double2(a.x, a.y); }
// ---- end of the OpenCL C preamble ----
"""

_PRAGMA = re.compile(r"^[ \t]*#[ \t]*pragma[ \t]+OPENCL\b.*$", re.MULTILINE)
_INLINE = re.compile(r"^([ \t]*)inline\b", re.MULTILINE)
_KERNEL = re.compile(r"__kernel\s+void\s+(\w+)\s*\(")
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)", re.MULTILINE)


def opencl_to_cuda(source: str, preamble: bool = True) -> str:
    """``source`` (an OpenCL C program following the rules above) as CUDA C++.

    With ``preamble=False`` only the body is rewritten (for callers that put one
    :data:`CUDA_PREAMBLE` in front of many bodies)."""
    body = _INLINE.sub(r"\1__device__ inline", _PRAGMA.sub("", source))
    return CUDA_PREAMBLE + body if preamble else body


def kernel_names(source: str) -> list[str]:
    """The ``__kernel`` functions ``source`` defines, in order."""
    return _KERNEL.findall(source)


def defined_macros(source: str) -> list[str]:
    """The macros ``source`` ``#define``s (to ``#undef`` them after it when several
    sources share one translation unit)."""
    return list(dict.fromkeys(_DEFINE.findall(source)))
