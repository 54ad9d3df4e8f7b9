// sixbit/cuda/sm90_async.cuh: the Hopper (sm_90a) asynchronous primitives the WGMMA GEMM is built from, as thin
// inline-PTX wrappers: mbarriers, the bulk tensor copy (TMA) into shared memory, and warpgroup MMA (wgmma) with its
// shared-memory matrix descriptor. PTX ISA 8.x, sections "mbarrier", "cp.async.bulk.tensor" and "wgmma"; the
// descriptor layout is the PTX ISA's "Matrix Descriptor Format" table. Only meaningful inside code compiled for
// sm_90a (guard callers with SIXBIT_SM90A_DEVICE); the kernels that use these: cuda/gemm_sm90.cuh.
#pragma once

#include <cuda.h>  // CUtensorMap

#include <cstdint>

// True in the device pass for sm_90a only (wgmma and setmaxnreg exist there; Blackwell has tcgen05 instead).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ == 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define SIXBIT_SM90A_DEVICE 1
#else
#define SIXBIT_SM90A_DEVICE 0
#endif

namespace sixbit::cuda::sm90 {

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

// ---- mbarrier ------------------------------------------------------------------------------------------------
__device__ __forceinline__ void mbarrier_init(uint64_t* bar, uint32_t arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_addr(bar)), "r"(arrivals) : "memory");
}
// Makes the initialized barriers visible to the async proxy (the TMA unit) before any copy names them.
__device__ __forceinline__ void fence_barrier_init() { asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory"); }
__device__ __forceinline__ void mbarrier_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_addr(bar)) : "memory");
}
// One arrival that also announces `bytes` of copy traffic; the phase completes when they have all landed.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}
// Spins until the phase with parity `parity` has completed. A fresh barrier is in phase 0, so waiting for parity 1
// returns at once (the "previous" phase counts as complete): producers start with parity 1 on the empty barriers.
__device__ __forceinline__ void mbarrier_wait(uint64_t* bar, uint32_t parity) {
  const uint32_t addr = smem_addr(bar);
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(addr), "r"(parity)
        : "memory");
  } while (!done);
}

// ---- clusters (thread block clusters, sm_90) --------------------------------------------------------------------
__device__ __forceinline__ uint32_t cluster_ctarank() {
  uint32_t r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
  return r;
}
// Every thread of every CTA in the cluster; barriers initialized before it are visible cluster-wide after it.
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\n barrier.cluster.wait.acquire.aligned;" ::: "memory");
}
// One arrival on the mbarrier at `bar`'s offset in the shared memory of CTA `cta` of this cluster (itself included):
// mapa turns the local address into that CTA's. Default semantics (release, CTA scope), as CUTLASS's ClusterBarrier:
// an explicit .release.cluster compiles to MEMBAR.ALL.GPU before every arrival (measured: it halved the kernel's speed).
__device__ __forceinline__ void mbarrier_arrive_cluster(uint64_t* bar, uint32_t cta) {
  asm volatile("{\n .reg .b32 remote;\n mapa.shared::cluster.u32 remote, %0, %1;\n mbarrier.arrive.shared::cluster.b64 _, [remote];\n}" ::"r"(
                   smem_addr(bar)),
               "r"(cta)
               : "memory");
}

// ---- bulk tensor copy (TMA) ------------------------------------------------------------------------------------
// Copies the box at (c0 = innermost coordinate, c1) of the tensor map into shared memory, completing on `bar`
// (bytes counted by arrive_expect_tx). Out-of-bounds elements of the box arrive as zeros and still count.
__device__ __forceinline__ void tma_load_2d(void* smem_dst, const CUtensorMap* map, uint64_t* bar, int32_t c0, int32_t c1) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4}], [%2];" ::"r"(smem_addr(smem_dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(smem_addr(bar)), "r"(c0), "r"(c1)
      : "memory");
}

// The same box written to `smem_dst`'s offset in every CTA of the cluster named in `cta_mask`, each completing on the
// mbarrier at `bar`'s offset in that CTA (one L2 read feeds them all).
__device__ __forceinline__ void tma_load_2d_multicast(void* smem_dst, const CUtensorMap* map, uint64_t* bar, int32_t c0, int32_t c1, uint16_t cta_mask) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1, {%3, %4}], [%2], %5;" ::"r"(
          smem_addr(smem_dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(smem_addr(bar)), "r"(c0), "r"(c1), "h"(cta_mask)
      : "memory");
}

// Stores a box of shared memory (laid out as the tensor map's swizzle says) to the tensor at (c0, c1); the box's
// parts outside the tensor are not written. Completion is tracked per issuing thread in bulk async-groups.
__device__ __forceinline__ void tma_store_2d(const CUtensorMap* map, const void* smem_src, int32_t c0, int32_t c1) {
  asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%0, {%2, %3}], [%1];" ::"l"(reinterpret_cast<uint64_t>(map)),
               "r"(smem_addr(smem_src)), "r"(c0), "r"(c1)
               : "memory");
}
__device__ __forceinline__ void bulk_commit_group() { asm volatile("cp.async.bulk.commit_group;" ::: "memory"); }
// Waits until at most kPending of this thread's bulk groups still READ shared memory (their sources are reusable).
template <int kPending>
__device__ __forceinline__ void bulk_wait_group_read() {
  asm volatile("cp.async.bulk.wait_group.read %0;" ::"n"(kPending) : "memory");
}
// Waits until all of this thread's bulk groups have completed (their global writes are done).
__device__ __forceinline__ void bulk_wait_group_all() { asm volatile("cp.async.bulk.wait_group 0;" ::: "memory"); }
// Ordinary shared-memory stores become visible to the async proxy (TMA) after this fence in each writing thread.
__device__ __forceinline__ void fence_proxy_async_shared() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

// ---- small asynchronous copies and named barriers --------------------------------------------------------------
// One 4-byte global -> shared copy that does not block the issuing thread (cp.async, sm_80+); completes at
// cp_async_wait_all. Used for a tile's epilogue scales, fetched while the tile's MMAs run.
__device__ __forceinline__ void cp_async_4(void* smem_dst, const void* gmem_src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(smem_addr(smem_dst)), "l"(gmem_src) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;" ::: "memory"); }
// Barrier among `threads` threads (a multiple of 32) on hardware barrier `id` (0 is __syncthreads'): one warpgroup
// synchronizes without stopping the others.
__device__ __forceinline__ void named_barrier_sync(int id, int threads) { asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory"); }

// ---- warpgroup MMA -------------------------------------------------------------------------------------------
// Shared-memory matrix descriptor for a K-major tile written by TMA with 128-byte swizzling: rows of 128 bytes,
// 8-row groups 1024 bytes apart (the stride byte offset), the tile 1024-byte aligned so the base offset is 0. The
// leading byte offset is unused for swizzled K-major layouts. Advancing K by 32 bytes inside the swizzled row is +32
// on the start address (+2 in the >>4 encoded field): the hardware applies the swizzle to the full address.
__device__ __forceinline__ uint64_t wgmma_desc_k_major_sw128(const void* tile) {
  const uint64_t start = (smem_addr(tile) & 0x3FFFFu) >> 4;  // bits 0-13
  const uint64_t stride = 1024u >> 4;                         // bits 32-45
  return start | (uint64_t{1} << 16) | (stride << 32) | (uint64_t{1} << 62);  // bits 62-63 = 1: 128-byte swizzle
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit_group() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void wgmma_wait_group() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(kPending) : "memory");
}
// Pins a register at this point in the instruction stream: the compiler cannot move reads or writes of accumulators
// across a wgmma fence or wait (they are written asynchronously, which the compiler does not see).
__device__ __forceinline__ void register_fence(int32_t& r) { asm volatile("" : "+r"(r)::"memory"); }
__device__ __forceinline__ void register_fence(float& r) { asm volatile("" : "+f"(r)::"memory"); }

// Raises / lowers this warpgroup's register budget (takes effect only under __launch_bounds__(threads, 1)).
template <int kRegs>
__device__ __forceinline__ void warpgroup_reg_alloc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(kRegs));
}
template <int kRegs>
__device__ __forceinline__ void warpgroup_reg_dealloc() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(kRegs));
}

// The 128 accumulator operands of an m64n256 wgmma, %0..%127 in the instruction text and d[0..127] as C-constrained
// ("+r" s32, "+f" f32) in-out operands; the instruction's remaining operands are then %128 on.
#define SIXBIT_WGMMA_D128_TEXT \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, " \
  "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, " \
  "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, " \
  "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, " \
  "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}"
#define SIXBIT_WGMMA_D8(C, i) C(d[i]), C(d[i + 1]), C(d[i + 2]), C(d[i + 3]), C(d[i + 4]), C(d[i + 5]), C(d[i + 6]), C(d[i + 7])
#define SIXBIT_WGMMA_D128(C)                                                                                   \
  SIXBIT_WGMMA_D8(C, 0), SIXBIT_WGMMA_D8(C, 8), SIXBIT_WGMMA_D8(C, 16), SIXBIT_WGMMA_D8(C, 24), SIXBIT_WGMMA_D8(C, 32),      \
      SIXBIT_WGMMA_D8(C, 40), SIXBIT_WGMMA_D8(C, 48), SIXBIT_WGMMA_D8(C, 56), SIXBIT_WGMMA_D8(C, 64), SIXBIT_WGMMA_D8(C, 72), \
      SIXBIT_WGMMA_D8(C, 80), SIXBIT_WGMMA_D8(C, 88), SIXBIT_WGMMA_D8(C, 96), SIXBIT_WGMMA_D8(C, 104), SIXBIT_WGMMA_D8(C, 112), \
      SIXBIT_WGMMA_D8(C, 120)

// D[64 x 256] (s32, registers: the wgmma accumulator fragment) += A[64 x 32] (s8, K-major in shared memory) *
// B[256 x 32]^T (s8, K-major in shared memory); scale_d = 0 ignores D's old value. Integer products and sums are
// exact (|sum| <= K * 127 * 127 < 2^31 for K < 133,000).
__device__ __forceinline__ void wgmma_m64n256k32_s32_s8_s8(int32_t (&d)[128], uint64_t desc_a, uint64_t desc_b, int32_t scale_d) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %130, 0;\n wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 " SIXBIT_WGMMA_D128_TEXT
               ", %128, %129, p;\n}\n"
               : SIXBIT_WGMMA_D128("+r")
               : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// The 64 accumulator operands of an m64n128 wgmma, %0..%63; the remaining operands are %64 on.
#define SIXBIT_WGMMA_D64_TEXT \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define SIXBIT_WGMMA_D64(C)                                                                                    \
  SIXBIT_WGMMA_D8(C, 0), SIXBIT_WGMMA_D8(C, 8), SIXBIT_WGMMA_D8(C, 16), SIXBIT_WGMMA_D8(C, 24), SIXBIT_WGMMA_D8(C, 32),      \
      SIXBIT_WGMMA_D8(C, 40), SIXBIT_WGMMA_D8(C, 48), SIXBIT_WGMMA_D8(C, 56)

// D[64 x 128] (s32) += A[64 x 32] (s8) * B[128 x 32]^T (s8), both K-major in shared memory: the m64n256 form's half,
// for tiles of 128 columns (the ping-pong kernel's two m64 halves of a 128-row tile).
__device__ __forceinline__ void wgmma_m64n128k32_s32_s8_s8(int32_t (&d)[64], uint64_t desc_a, uint64_t desc_b, int32_t scale_d) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %66, 0;\n wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " SIXBIT_WGMMA_D64_TEXT
               ", %64, %65, p;\n}\n"
               : SIXBIT_WGMMA_D64("+r")
               : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// The 96 accumulator operands of an m64n192 wgmma, %0..%95; the remaining operands are %96 on.
#define SIXBIT_WGMMA_D96_TEXT \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, " \
  "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, " \
  "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95}"
#define SIXBIT_WGMMA_D96(C)                                                                                    \
  SIXBIT_WGMMA_D64(C), SIXBIT_WGMMA_D8(C, 64), SIXBIT_WGMMA_D8(C, 72), SIXBIT_WGMMA_D8(C, 80), SIXBIT_WGMMA_D8(C, 88)

// D[64 x 192] (s32) += A[64 x 32] (s8) * B[192 x 32]^T (s8), both K-major in shared memory: the two m64 halves of the
// ping-pong kernel's 128 x 192 tile.
__device__ __forceinline__ void wgmma_m64n192k32_s32_s8_s8(int32_t (&d)[96], uint64_t desc_a, uint64_t desc_b, int32_t scale_d) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %98, 0;\n wgmma.mma_async.sync.aligned.m64n192k32.s32.s8.s8 " SIXBIT_WGMMA_D96_TEXT
               ", %96, %97, p;\n}\n"
               : SIXBIT_WGMMA_D96("+r")
               : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// D[64 x 256] (f32, registers) += A[64 x 16] (bf16, K-major in shared memory) * B[256 x 16]^T (bf16, K-major in
// shared memory); fp32 accumulation on the tensor cores (not round-to-nearest per add: the fast paths' bounds).
__device__ __forceinline__ void wgmma_m64n256k16_f32_bf16_bf16(float (&d)[128], uint64_t desc_a, uint64_t desc_b, int32_t scale_d) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %130, 0;\n wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 " SIXBIT_WGMMA_D128_TEXT
               ", %128, %129, p, 1, 1, 0, 0;\n}\n"
               : SIXBIT_WGMMA_D128("+f")
               : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// D[64 x 256] (f32) += A[64 x 16] (bf16, from registers: the m16n8k16-style fragment of each warp's 16 rows, two
// bf16 per register, a[0] = (row g, cols 2t, 2t+1), a[1] = (g+8, same cols), a[2] = (g, 2t+8, 2t+9), a[3] = (g+8,
// 2t+8, 2t+9) for g = lane / 4, t = lane % 4; PTX ISA, "Register fragments for matrix A") * B[256 x 16]^T (bf16,
// K-major in shared memory). The A registers may be rewritten only once this wgmma has completed (a wait_group that
// retires it), and a wgmma_fence must separate the write from the next wgmma.
__device__ __forceinline__ void wgmma_m64n256k16_f32_bf16_bf16_rs(float (&d)[128], const uint32_t (&a)[4], uint64_t desc_b, int32_t scale_d) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %133, 0;\n wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 " SIXBIT_WGMMA_D128_TEXT
               ", {%128, %129, %130, %131}, %132, p, 1, 1, 0;\n}\n"
               : SIXBIT_WGMMA_D128("+f")
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(scale_d));
}

// The same with fp16 operands (A from registers, fragment layout as above; B fp16, K-major in shared memory).
__device__ __forceinline__ void wgmma_m64n256k16_f32_f16_f16_rs(float (&d)[128], const uint32_t (&a)[4], uint64_t desc_b, int32_t scale_d) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %133, 0;\n wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 " SIXBIT_WGMMA_D128_TEXT
               ", {%128, %129, %130, %131}, %132, p, 1, 1, 0;\n}\n"
               : SIXBIT_WGMMA_D128("+f")
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(scale_d));
}

// The 16 accumulator operands of an m64n32 wgmma, %0..%15; the remaining operands are %16 on.
#define SIXBIT_WGMMA_D16_TEXT "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}"
#define SIXBIT_WGMMA_D16(C) SIXBIT_WGMMA_D8(C, 0), SIXBIT_WGMMA_D8(C, 8)

// D[64 x 32] (f32) (+)= A[64 x 16] (fp16 from registers, the fragment layout above) * B[32 x 16]^T (K-major in
// shared memory, 128-byte swizzle): the block-exact kernels' one-block products (gemm_sm90_exact.cuh), always with
// scale_d = 0 there. D's layout is that of 32 consecutive columns of the m64n256 form: d[i] = its d[16 e + i] for the
// eighth e the descriptor points at.
__device__ __forceinline__ void wgmma_m64n32k16_f32_f16_f16_rs(float (&d)[16], const uint32_t (&a)[4], uint64_t desc_b, int32_t scale_d) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %21, 0;\n wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 " SIXBIT_WGMMA_D16_TEXT
               ", {%16, %17, %18, %19}, %20, p, 1, 1, 0;\n}\n"
               : SIXBIT_WGMMA_D16("+f")
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(scale_d));
}

}  // namespace sixbit::cuda::sm90
