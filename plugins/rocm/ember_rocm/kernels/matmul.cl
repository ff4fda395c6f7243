// Batched matrix product C[b] = A[b] @ B[b].  Each work item computes a 4x4 block of C
// in registers (16 products per 8 loads), reading A and B through their strides, so
// transposed and broadcast operands need no copy; C is contiguous (batch, M, N).
// Work item (column block, row block, batch).  Register blocking is what lets PoCL
// vectorise across work items and what keeps GPU loads per product low.
// Two optional epilogues (linear's forward and backward: one launch instead of two):
// matmul_bias adds E[b, r, c] (read through strides: a broadcast bias), matmul_rowsum also
// stores each row's sum of A (a bias gradient, sum over the batch of g, beside g.T @ x).
// matmul.py puts the three variants (matmul, matmul_bias, matmul_rowsum) in one
// program: one build (or binary load) serves them all.
#ifndef RB
#define RB 4
#define CB 4
#endif

__kernel void $NAME(const long M, const long N, const long K, __global $T* C,
                     __global const $T* A, const long aoff, const long asb,
                     const long asm_, const long ask,
                     __global const $T* B, const long boff, const long bsb,
                     const long bsk, const long bsn
#if $HAS_BIAS
                     , __global const $T* E, const long eoff, const long esb,
                     const long esm, const long esn
#endif
#if $HAS_ROWSUM
                     , __global $T* S, const long soff
#endif
                     )
{
    const long c0 = get_global_id(0) * CB;
    const long r0 = get_global_id(1) * RB;
    const long b = get_global_id(2);
    if (r0 >= M || c0 >= N) return;
    const long abase = aoff + b * asb;
    const long bbase = boff + b * bsb;
    // clamp edge rows/columns to valid ones (computed, then not stored)
    long ar[RB], bc[CB];
    for (int i = 0; i < RB; ++i) ar[i] = abase + min(r0 + i, M - 1) * asm_;
    for (int j = 0; j < CB; ++j) bc[j] = bbase + min(c0 + j, N - 1) * bsn;
    $T acc[RB][CB];
    for (int i = 0; i < RB; ++i)
        for (int j = 0; j < CB; ++j) acc[i][j] = 0;
#if $HAS_ROWSUM
    $T rs[RB];
    for (int i = 0; i < RB; ++i) rs[i] = 0;
#endif
    for (long k = 0; k < K; ++k) {
        $T av[RB], bv[CB];
        for (int i = 0; i < RB; ++i) av[i] = A[ar[i] + k * ask];
        for (int j = 0; j < CB; ++j) bv[j] = B[bc[j] + k * bsk];
        for (int i = 0; i < RB; ++i)
            for (int j = 0; j < CB; ++j) acc[i][j] += av[i] * bv[j];
#if $HAS_ROWSUM
        for (int i = 0; i < RB; ++i) rs[i] += av[i];
#endif
    }
#if $HAS_ROWSUM
    // (the items of the first column block store the sums of their rows)
    if (c0 == 0)
        for (int i = 0; i < RB; ++i)
            if (r0 + i < M) S[soff + b * M + r0 + i] = rs[i];
#endif
    for (int i = 0; i < RB; ++i)
        for (int j = 0; j < CB; ++j)
            if (r0 + i < M && c0 + j < N) {
#if $HAS_BIAS
                acc[i][j] += E[eoff + b * esb + (r0 + i) * esm + (c0 + j) * esn];
#endif
                C[(b * M + r0 + i) * N + c0 + j] = acc[i][j];
            }
}
