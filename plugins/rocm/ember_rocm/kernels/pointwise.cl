// Elementwise kernel: one work item per output element.  Generated per op expression,
// dtypes and shape class; sizes, strides and offsets (in elements) are arguments.
// $$INDEX turns the linear id into a multi-index over the merged dimensions.
$HELPERS

__kernel void pointwise(const long n, __global $R* out, const long out_off$OUT_STRIDES$PARAMS$SIZES)
{
    const long gid = get_global_id(0);
    if (gid >= n) return;
$INDEX
$LOADS
    out[$OUT_INDEX] = $STORE;
}
