// Inclusive scan (cumsum/cumprod) along one dimension: one work item per line, a
// serial loop along it.  Outer dimensions are merged; sizes/strides are arguments.
__kernel void scan(const long lines, const long n, __global $R* out, const long ost,
                   __global const $A* in, const long off, const long ist$OUTER_PARAMS)
{
    const long g = get_global_id(0);
    if (g >= lines) return;
    long base = off;
    long obase = 0;
    {
        long r = g;
$OUTER_INDEX
    }
    $R acc = ($R)($INIT);
    for (long j = 0; j < n; ++j) {
        acc = acc $OP ($R)in[base + j * ist];
        out[obase + j * ost] = acc;
    }
}
