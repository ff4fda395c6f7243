// Row kernels: one work group per row of C elements along one dimension (softmax,
// log-softmax, cross-entropy).  Rows are addressed through merged outer dimensions
// (input and output strides); elements of a row are `dst` apart.  Each kernel makes
// two passes over its row: the maximum, then the sums, combined in local memory.
#define GROUP_MAX 256

// tree-combine `v` over the work group with `op`, result broadcast to every item
#define GROUP_REDUCE(scratch, v, OP) do { \
    scratch[lid] = v; \
    barrier(CLK_LOCAL_MEM_FENCE); \
    for (int s_ = lsz / 2; s_ > 0; s_ >>= 1) { \
        if (lid < s_) { const $T a_ = scratch[lid], b_ = scratch[lid + s_]; \
                        scratch[lid] = OP(a_, b_); } \
        barrier(CLK_LOCAL_MEM_FENCE); \
    } \
    v = scratch[0]; \
    barrier(CLK_LOCAL_MEM_FENCE); \
} while (0)
#define ADD(a, b) ((a) + (b))
#define MAXNAN(a, b) (((a) > (b) || isnan(a)) ? (a) : (b))

// `shift`: the row's maximum (NaN wins), the shift of a stable exp().  A row whose
// maximum is not finite (+inf, all -inf, NaN) then gives NaN everywhere, as PyTorch's
// softmax does (inf - inf)
#define ROW_SHIFT(shift, READ) \
    $T shift; \
    do { \
        $T mx_ = -INFINITY; \
        for (long j_ = lid; j_ < C; j_ += lsz) mx_ = MAXNAN(mx_, READ(j_)); \
        GROUP_REDUCE(scratch, mx_, MAXNAN); \
        shift = mx_; \
    } while (0)

// READ arguments of ROW_SHIFT: element j of the row; IN_KEPT reads 0 for the row of an
// ignored target (`valid` false), whose logits may be -inf or NaN padding and must not
// reach any arithmetic.  (Masked reads rather than an early return: every work item
// reaches every barrier.)
#define IN(j) in[base + (j) * ist]
#define IN_KEPT(j) (valid ? in[base + (j) * ist] : ($T)0)

// ROW_START (filled in by the Python side): the work group's row `g`, its item `lid` of
// `lsz`, the local scratch, and the row's input/output offsets `base`/`obase` from the
// merged outer dimensions

__kernel void softmax(const long rows, const long C, __global $T* out, const long ost,
                      __global const $T* in, const long off, const long ist,
                      const int log_$OUTER_PARAMS)
{
$ROW_START
    ROW_SHIFT(shift, IN);
    $T s = 0;
    for (long j = lid; j < C; j += lsz) s += exp(in[base + j * ist] - shift);
    GROUP_REDUCE(scratch, s, ADD);
    const $T ls = log(s);
    for (long j = lid; j < C; j += lsz) {
        const $T x = in[base + j * ist] - shift;
        out[obase + j * ost] = log_ ? x - ls : exp(x) / s;
    }
}

// Cross-entropy with class-index targets: per row, the weighted negative log-likelihood
// of the target (with label smoothing) and the row's weight (0 where ignored).  Targets
// are checked here, on the device (asserts.py), not by the op's value rule.
__kernel void cross_entropy(const long rows, const long C, __global $T* loss,
                            __global $T* wrow,
                            __global const $T* in, const long off, const long ist,
                            __global const long* target, const long toff,
                            __global const $T* weight, const long woff, const long wst,
                            const int has_weight, const long ignore_index, const $T ls,
                            __global long* err, const long eslot$OUTER_PARAMS)
{
$ROW_START
    const long t = target[toff + g];
    const int valid = t != ignore_index && t >= 0 && t < C;
    // a target outside the classes: raise at the next sync (asserts.py), ignore it here
    if (lid == 0 && !valid && t != ignore_index) { err[2 * eslot + 1] = t; err[2 * eslot] = 1; }
    ROW_SHIFT(shift, IN_KEPT);
    $T s = 0, swx = 0, sw = 0;
    for (long j = lid; j < C; j += lsz) {
        const $T x = IN_KEPT(j) - shift;
        const $T w = has_weight ? weight[woff + j * wst] : ($T)1;
        s += exp(x);
        swx += w * x;
        sw += w;
    }
    GROUP_REDUCE(scratch, s, ADD);
    GROUP_REDUCE(scratch, swx, ADD);
    GROUP_REDUCE(scratch, sw, ADD);
    if (lid == 0) {
        if (!valid) { loss[g] = 0; wrow[g] = 0; return; }
        const $T lse = log(s);
        const $T wt = has_weight ? weight[woff + t * wst] : ($T)1;
        const $T xt = IN_KEPT(t) - shift;
        $T l = -wt * (1 - ls) * (xt - lse);
        if (ls != 0) l -= (ls / C) * (swx - sw * lse);
        loss[g] = l;
        wrow[g] = wt;
    }
}

// Gradient of cross-entropy w.r.t. the logits, one work group per row:
// g_k = scale * (p_k * sum_j d_j - d_k) with d the target weights of the loss (0 for
// the row of an ignored target, whose logits are read as 0: its gradient is 0).
__kernel void cross_entropy_backward(const long rows, const long C, __global $T* out,
                                     const long ost,
                                     __global const $T* in, const long off, const long ist,
                                     __global const long* target, const long toff,
                                     __global const $T* weight, const long woff,
                                     const long wst, const int has_weight,
                                     const long ignore_index, const $T ls,
                                     __global const $T* grad, const long goff,
                                     const long gst, __global const $T* denom,
                                     const int mode$OUTER_PARAMS)
{
$ROW_START
    const long t = target[toff + g];
    const int valid = t != ignore_index && t >= 0 && t < C;
    ROW_SHIFT(shift, IN_KEPT);
    $T s = 0, sw = 0;
    for (long j = lid; j < C; j += lsz) {
        s += exp(IN_KEPT(j) - shift);
        sw += has_weight ? weight[woff + j * wst] : ($T)1;
    }
    GROUP_REDUCE(scratch, s, ADD);
    GROUP_REDUCE(scratch, sw, ADD);
    const $T wt = valid ? (has_weight ? weight[woff + t * wst] : ($T)1) : ($T)0;
    const $T lsc = valid ? ls / C : ($T)0;
    const $T dsum = wt * (1 - ls) + lsc * sw;
    // mode 0: none (per-row grad), 1: mean (grad / denom), 2: sum
    const $T scale = mode == 0 ? grad[goff + g * gst]
                   : mode == 1 ? grad[goff] / denom[0] : grad[goff];
    for (long j = lid; j < C; j += lsz) {
        const $T p = exp(IN_KEPT(j) - shift) / s;
        const $T w = has_weight ? weight[woff + j * wst] : ($T)1;
        const $T d = (j == t ? wt * (1 - ls) : ($T)0) + lsc * w;
        out[obase + j * ost] = scale * (p * dsum - d);
    }
}
