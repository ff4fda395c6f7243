// Fused kernels of ember-xpu (OpenCL C, built through dpctl on OpenCL SYCL devices).
// T is the floating dtype (float or double) and CE or OPTIM the kernel family, both
// defined when the program is built (a family is built on its first use).
// Offsets and strides are in elements.

#define MAXNAN(a, b) (((a) > (b) || isnan(a)) ? (a) : (b))
#define GROUP 64

#ifdef CE
// --- cross-entropy with class-index targets, one work item per row ---------------------

// Per row: the weighted negative log-likelihood of the target with label smoothing, and
// the row's weight (0 where the target is ignored).  The op's value rule has checked the
// targets.  Rows whose maximum is not finite (+inf, all -inf, NaN) come out NaN (inf -
// inf), as in PyTorch.
__kernel void ce_rows(const long C, __global T* loss, __global T* wrow,
                      __global const T* x, const long xoff, const long rs, const long cs,
                      __global const long* t, const long toff, const long ts,
                      __global const T* w, const long woff, const long ws,
                      const int has_w, const long ignore, const T ls)
{
    const long r = get_global_id(0);
    const long tr = t[toff + r * ts];
    if (tr == ignore || tr < 0 || tr >= C) { loss[r] = 0; wrow[r] = 0; return; }
    const long b = xoff + r * rs;
    T mx = -INFINITY;
    for (long j = 0; j < C; ++j) mx = MAXNAN(mx, x[b + j * cs]);
    const T shift = mx;
    T s = 0, swx = 0, sw = 0;
    for (long j = 0; j < C; ++j) {
        const T v = x[b + j * cs] - shift;
        const T wj = has_w ? w[woff + j * ws] : (T)1;
        s += exp(v);
        swx += wj * v;
        sw += wj;
    }
    const T lse = log(s);
    const T wt = has_w ? w[woff + tr * ws] : (T)1;
    T l = -wt * (1 - ls) * (x[b + tr * cs] - shift - lse);
    if (ls != 0) l -= (ls / C) * (swx - sw * lse);
    loss[r] = l;
    wrow[r] = wt;
}

// One work group of GROUP items: out[0] = sum(a) / sum(b) (mean) or sum(a) (sum).
__kernel void ce_total(const long n, __global const T* a, __global const T* b,
                       const int mean, __global T* out)
{
    __local T sa[GROUP], sb[GROUP];
    const int lid = get_local_id(0);
    T va = 0, vb = 0;
    for (long i = lid; i < n; i += GROUP) { va += a[i]; if (mean) vb += b[i]; }
    sa[lid] = va; sb[lid] = vb;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = GROUP / 2; s > 0; s >>= 1) {
        if (lid < s) { sa[lid] += sa[lid + s]; sb[lid] += sb[lid + s]; }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[0] = mean ? sa[0] / sb[0] : sa[0];
}

// One work group: out[0] = the summed weights of the rows whose target is not ignored
// (the mean's denominator).
__kernel void ce_weight_sum(const long n, const long C, __global const long* t,
                            const long toff, const long ts, __global const T* w,
                            const long woff, const long ws, const int has_w,
                            const long ignore, __global T* out)
{
    __local T sa[GROUP];
    const int lid = get_local_id(0);
    T v = 0;
    for (long i = lid; i < n; i += GROUP) {
        const long tr = t[toff + i * ts];
        if (tr != ignore && tr >= 0 && tr < C) v += has_w ? w[woff + tr * ws] : (T)1;
    }
    sa[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = GROUP / 2; s > 0; s >>= 1) {
        if (lid < s) sa[lid] += sa[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[0] = sa[0];
}

// Gradient w.r.t. the logits, one work item per row: g_j = scale * (p_j * sum(d) - d_j),
// d the target weights of the loss (all 0 for an ignored row, whose gradient is 0).
// mode 0: none (scale = grad[r]), 1: mean (grad / denom), 2: sum (grad).
__kernel void ce_backward(const long C, __global T* out,
                          __global const T* x, const long xoff, const long rs, const long cs,
                          __global const long* t, const long toff, const long ts,
                          __global const T* w, const long woff, const long ws,
                          const int has_w, const long ignore, const T ls,
                          __global const T* grad, const long goff, const long gs,
                          __global const T* denom, const int mode)
{
    const long r = get_global_id(0);
    const long tr = t[toff + r * ts];
    const long o = r * C;
    if (tr == ignore || tr < 0 || tr >= C) {
        for (long j = 0; j < C; ++j) out[o + j] = 0;
        return;
    }
    const long b = xoff + r * rs;
    T mx = -INFINITY;
    for (long j = 0; j < C; ++j) mx = MAXNAN(mx, x[b + j * cs]);
    const T shift = mx;
    T s = 0, sw = 0;
    for (long j = 0; j < C; ++j) {
        s += exp(x[b + j * cs] - shift);
        sw += has_w ? w[woff + j * ws] : (T)1;
    }
    const T wt = has_w ? w[woff + tr * ws] : (T)1;
    const T lsc = ls / C;
    const T dsum = wt * (1 - ls) + lsc * sw;
    const T scale = mode == 0 ? grad[goff + r * gs]
                  : mode == 1 ? grad[goff] / denom[0] : grad[goff];
    for (long j = 0; j < C; ++j) {
        const T p = exp(x[b + j * cs] - shift) / s;
        const T wj = has_w ? w[woff + j * ws] : (T)1;
        const T d = (j == tr ? wt * (1 - ls) : (T)0) + lsc * wj;
        out[o + j] = scale * (p * dsum - d);
    }
}

#endif

#ifdef OPTIM
// --- optimizer steps: one pass per parameter, PyTorch's formulas (ember.ops.optim) -------

__kernel void sgd(__global T* p, const long poff, __global const T* g, const long goff,
                  __global T* buf, const long boff, const T lr, const T momentum,
                  const T dampening, const T weight_decay, const int nesterov,
                  const int maximize, const int init_buffers)
{
    const long i = get_global_id(0);
    T d = g[goff + i];
    if (maximize) d = -d;
    const T pi = p[poff + i];
    if (weight_decay != 0) d = d + pi * weight_decay;
    if (momentum != 0) {
        const T bv = init_buffers ? d : buf[boff + i] * momentum + (1 - dampening) * d;
        buf[boff + i] = bv;
        d = nesterov ? d + bv * momentum : bv;
    }
    p[poff + i] = pi + (-lr) * d;
}

__kernel void adam(__global T* p, const long poff, __global const T* g, const long goff,
                   __global T* m, const long moff, __global T* v, const long voff,
                   __global T* vmax, const long xoff, const T lr, const T beta1,
                   const T beta2, const T eps, const T weight_decay, const T step_size,
                   const T bc2_sqrt, const int amsgrad, const int decoupled,
                   const int maximize)
{
    const long i = get_global_id(0);
    T gi = g[goff + i];
    if (maximize) gi = -gi;
    T pi = p[poff + i];
    if (weight_decay != 0) {
        if (decoupled) pi = pi * (1 - lr * weight_decay);
        else gi = gi + pi * weight_decay;
    }
    const T mi = m[moff + i] * beta1 + (1 - beta1) * gi;
    T vi = v[voff + i] * beta2 + (1 - beta2) * (gi * gi);
    m[moff + i] = mi;
    v[voff + i] = vi;
    if (amsgrad) {
        vi = fmax(vmax[xoff + i], vi);
        vmax[xoff + i] = vi;
    }
    const T denom = sqrt(vi) / bc2_sqrt + eps;
    p[poff + i] = pi + (-step_size) * (mi / denom);
}
#endif
