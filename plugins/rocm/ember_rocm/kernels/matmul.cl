// Batched matrix product C[b] = A[b] @ B[b] with 16x16 tiles in local memory.
// A and B may have any strides (transposed and broadcast operands need no copy);
// C is contiguous (batch, M, N).  Work item (col, row, batch).
#define TS 16

__kernel void matmul(const long M, const long N, const long K, __global $T* C,
                     __global const $T* A, const long aoff, const long asb,
                     const long asm_, const long ask,
                     __global const $T* B, const long boff, const long bsb,
                     const long bsk, const long bsn)
{
    const int lc = get_local_id(0);
    const int lr = get_local_id(1);
    const long col = get_group_id(0) * TS + lc;
    const long row = get_group_id(1) * TS + lr;
    const long b = get_global_id(2);
    __local $T As[TS][TS];
    __local $T Bs[TS][TS + 1];  // padded: no bank conflicts on the column reads
    $T acc = 0;
    const long abase = aoff + b * asb;
    const long bbase = boff + b * bsb;
    for (long t = 0; t < K; t += TS) {
        const long ka = t + lc;
        As[lr][lc] = (row < M && ka < K) ? A[abase + row * asm_ + ka * ask] : ($T)0;
        const long kb = t + lr;
        Bs[lr][lc] = (kb < K && col < N) ? B[bbase + kb * bsk + col * bsn] : ($T)0;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < TS; ++k)
            acc += As[lr][k] * Bs[k][lc];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row < M && col < N)
        C[(b * M + row) * N + col] = acc;
}
