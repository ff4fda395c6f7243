// Reduction: one work group per output element.  Its work items stride over the
// reduced elements, then combine their partial results in local memory (a tree).
// Outer (kept) and inner (reduced) dimensions are merged separately; their sizes
// and strides are arguments.  $$COMBINE(acc, x) folds, $$FINAL(acc) finishes.
#define GROUP_MAX 256
#define COMBINE(a, b) ($COMBINE)
#define MAP(x) ($MAP)  /* on the loaded value, before conversion */

__kernel void reduce(const long m, const long n, __global $R* out,
                     __global const $A* in, const long off$OUTER_PARAMS$INNER_PARAMS)
{
    const long g = get_group_id(0);
    const int lid = get_local_id(0);
    const int lsz = get_local_size(0);
    __local $ACC scratch[GROUP_MAX];
    long base = off;
    {
        long r = g;
$OUTER_INDEX
    }
    $ACC acc = ($ACC)($INIT);
    for (long j = lid; j < n; j += lsz) {
        long r = j;
        long p = base;
$INNER_INDEX
        const $A v = in[p];
        const $ACC x = ($ACC)(MAP(v));
        acc = COMBINE(acc, x);
    }
    scratch[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lsz / 2; s > 0; s >>= 1) {
        if (lid < s) {
            const $ACC a = scratch[lid];
            const $ACC b = scratch[lid + s];
            scratch[lid] = COMBINE(a, b);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0 && g < m) {
        const $ACC res = scratch[0];
        out[g] = $FINAL;
    }
}
