// Arg-reduction (argmax/argmin): like reduce.cl, but each partial result carries the
// linear index (within the reduced elements) of its value.  NaN wins (as PyTorch),
// and ties go to the first index.
#define GROUP_MAX 256
#define ISNAN(x) ($ISNAN)
// whether (b, ib) should replace (a, ia)
#define BETTER(a, ia, b, ib) ( \
    (ISNAN(b) && !ISNAN(a)) || \
    (!ISNAN(a) && !ISNAN(b) && ((b) $CMP (a) || ((b) == (a) && (ib) < (ia)))) || \
    (ISNAN(a) && ISNAN(b) && (ib) < (ia)))

__kernel void argreduce(const long m, const long n, __global $A* values,
                        __global long* indices, __global const $A* in,
                        const long off$OUTER_PARAMS$INNER_PARAMS)
{
    const long g = get_group_id(0);
    const int lid = get_local_id(0);
    const int lsz = get_local_size(0);
    __local $A sv[GROUP_MAX];
    __local long si[GROUP_MAX];
    long base = off;
    {
        long r = g;
$OUTER_INDEX
    }
    $A best = 0;
    long bi = -1;
    for (long j = lid; j < n; j += lsz) {
        long r = j;
        long p = base;
$INNER_INDEX
        const $A x = in[p];
        if (bi < 0 || BETTER(best, bi, x, j)) { best = x; bi = j; }
    }
    sv[lid] = best;
    si[lid] = bi;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lsz / 2; s > 0; s >>= 1) {
        if (lid < s) {
            const long ib = si[lid + s];
            if (ib >= 0 && (si[lid] < 0 || BETTER(sv[lid], si[lid], sv[lid + s], ib))) {
                sv[lid] = sv[lid + s];
                si[lid] = ib;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        values[g] = sv[0];
        indices[g] = si[0];
    }
}
