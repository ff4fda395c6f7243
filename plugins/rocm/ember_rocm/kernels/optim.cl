// Fused optimizer steps: one pass per parameter updates it and its state, following
// PyTorch's formulas (see ember.ops.optim).  All operands contiguous, offsets in elements.

__kernel void sgd(const long n, __global $T* p, const long poff,
                  __global const $T* g, const long goff, __global $T* buf, const long boff,
                  const $T lr, const $T momentum, const $T dampening, const $T weight_decay,
                  const int nesterov, const int maximize, const int init_buffers)
{
    const long i = get_global_id(0);
    if (i >= n) return;
    $T d = g[goff + i];
    if (maximize) d = -d;
    const $T pi = p[poff + i];
    if (weight_decay != 0) d = d + pi * weight_decay;
    if (momentum != 0) {
        const $T b = init_buffers ? d : buf[boff + i] * momentum + (1 - dampening) * d;
        buf[boff + i] = b;
        d = nesterov ? d + b * momentum : b;
    }
    p[poff + i] = pi + (-lr) * d;
}

__kernel void adam(const long n, __global $T* p, const long poff,
                   __global const $T* g, const long goff, __global $T* m, const long moff,
                   __global $T* v, const long voff, __global $T* vmax, const long xoff,
                   const $T lr, const $T beta1, const $T beta2, const $T eps,
                   const $T weight_decay, const $T step_size, const $T bc2_sqrt,
                   const int amsgrad, const int decoupled, const int maximize)
{
    const long i = get_global_id(0);
    if (i >= n) return;
    $T gi = g[goff + i];
    if (maximize) gi = -gi;
    $T pi = p[poff + i];
    if (weight_decay != 0) {
        if (decoupled) pi = pi * (1 - lr * weight_decay);
        else gi = gi + pi * weight_decay;
    }
    const $T mi = m[moff + i] * beta1 + (1 - beta1) * gi;
    $T vi = v[voff + i] * beta2 + (1 - beta2) * (gi * gi);
    m[moff + i] = mi;
    v[voff + i] = vi;
    if (amsgrad) {
        vi = fmax(vmax[xoff + i], vi);
        vmax[xoff + i] = vi;
    }
    const $T denom = sqrt(vi) / bc2_sqrt + eps;
    p[poff + i] = pi + (-step_size) * (mi / denom);
}
