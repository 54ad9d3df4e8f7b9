"""The C++ sampler (tests/oracle/sampler_dump.cpp output) against diffusers' schedulers, an implementation nobody
here wrote: UniPCMultistepScheduler configured for flow matching as Wan2.1 uses it (use_flow_sigmas,
prediction_type="flow_prediction", solver_order 2, solver_type bh2, predict_x0, lower_order_final,
final_sigmas_type "zero", flow_shift = shift, given Wan's unshifted base sigmas linspace(fp32(0.999), 0, steps+1)[:-1]
since diffusers' own default base (linspace(1, 1/N, ...)) is not Wan's), and FlowMatchEulerDiscreteScheduler
(shift 1, given the C++ fp32 sigmas) for Euler. Also against experiments/flow_sampler.py (the transcription of Wan's
fm_solvers_unipc.py) in fp64, the reference the errors are measured from.

Checks per case (solver x steps x shift, guidance 5, or 1 at 6 steps):
- schedule: C++ sigmas (fp32 values) and timesteps (integers) equal diffusers' exactly;
- Euler: every C++ step bit-identical to diffusers (x + (sigma_next - sigma) * v: the same fp32 operations);
- UniPC: diffusers fp32 and the transcription in fp32 agree bit for bit (a check of the transcription); at every step
  max|C++ - fp64| <= 8 max|diffusers - fp64| + half an ulp of the largest value, the argument of
  tests/unit/dit_sampler_test.cpp (both fp32 implementations of the same loop: C++ rounds fp64 coefficients once,
  diffusers computes log/expm1/solve in fp32, so its error is the larger one; the velocity bits are the same for the
  same x); and the C++ error is > 0 somewhere.
Exit 0 on success, 1 with the failing case on the first mismatch.
"""
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "experiments"))
import flow_sampler  # noqa: E402
from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler  # noqa: E402

N_TRAIN = 1000


def gaussian_params(n, cond):
    """mu, s per element, as sampler_dump.cpp's gaussian_params."""
    u = np.arange(n, dtype=np.float64) / (n - 1)
    return (-2.0 + 4.0 * u, 0.5 + 1.5 * u) if cond else (1.0 - 2.0 * u, 1.5 - 0.75 * u)


def velocity(x, sigma, cond, dtype):
    mu, s = gaussian_params(x.numel(), cond)
    xd = x.detach().to(torch.float64).numpy()
    s2 = (1.0 - sigma) * (1.0 - sigma) * s * s + sigma * sigma
    v = (sigma - (1.0 - sigma) * s * s) / s2 * (xd - (1.0 - sigma) * mu) - mu
    return torch.from_numpy(v.astype(np.float32) if dtype == torch.float32 else v)


def read_cases(path):
    data = open(path, "rb").read()
    assert data[:8] == b"SBSMPDMP", "bad dump magic"
    (count,), off = struct.unpack_from("<I", data, 8), 12
    cases = []
    for _ in range(count):
        solver, steps, shift, guidance, n = struct.unpack_from("<IIddI", data, off)
        off += 28
        sigmas = np.frombuffer(data, "<f8", steps + 1, off); off += 8 * (steps + 1)
        timesteps = np.frombuffer(data, "<f8", steps, off); off += 8 * steps
        xs = np.frombuffer(data, "<f4", (steps + 1) * n, off).reshape(steps + 1, n); off += 4 * (steps + 1) * n
        cases.append(dict(solver="unipc" if solver else "euler", steps=steps, shift=shift, guidance=guidance,
                          sigmas=sigmas, timesteps=timesteps, xs=xs))
    assert off == len(data), "trailing bytes in the dump"
    return cases


def run(scheduler, sigmas, x, guidance, dtype):
    """Wan's loop; `sigmas` are the (fp32-valued) sigmas the velocity is evaluated at. Returns inputs + result."""
    out = []
    for i in range(len(sigmas) - 1):
        out.append(x.clone())
        s = float(sigmas[i])
        vc, vu = velocity(x, s, True, dtype), velocity(x, s, False, dtype)
        x = scheduler.step(vu + guidance * (vc - vu), x)
    out.append(x)
    return torch.stack(out).to(torch.float32).numpy(), out


class DiffusersStep:
    def __init__(self, sched):
        self.sched = sched
        sched.set_begin_index(0)  # avoid the timestep lookup; steps go in order

    def step(self, v, x):
        t = self.sched.timesteps[self.sched.step_index or 0]
        return self.sched.step(v.unsqueeze(0), t, x.unsqueeze(0), return_dict=False)[0].squeeze(0)


def check(case):
    steps, shift, g = case["steps"], case["shift"], case["guidance"]
    name = f"{case['solver']} steps={steps} shift={shift} g={g}"
    wan_sig, wan_t = flow_sampler.wan_schedule(steps, shift, N_TRAIN)
    base = np.linspace(np.float32(1 - 1 / N_TRAIN).item(), 0.0, steps + 1)[:-1]
    x0 = torch.from_numpy(case["xs"][0].copy())
    if case["solver"] == "unipc":
        d = UniPCMultistepScheduler(num_train_timesteps=N_TRAIN, solver_order=2, prediction_type="flow_prediction",
                                    use_flow_sigmas=True, flow_shift=shift, solver_type="bh2", predict_x0=True,
                                    lower_order_final=True, final_sigmas_type="zero")
        d.set_timesteps(sigmas=base)
    else:
        d = FlowMatchEulerDiscreteScheduler(num_train_timesteps=N_TRAIN, shift=1.0)
        d.set_timesteps(sigmas=case["sigmas"][:-1].astype(np.float32))
    d_sig = d.sigmas.to(torch.float64).numpy()
    if not np.array_equal(d_sig, case["sigmas"]) or not np.array_equal(wan_sig.to(torch.float64).numpy(), case["sigmas"]):
        return f"{name}: sigmas differ: C++ {case['sigmas']} diffusers {d_sig}"
    if case["solver"] == "unipc" and not np.array_equal(d.timesteps.numpy().astype(np.float64), case["timesteps"]):
        return f"{name}: timesteps differ: C++ {case['timesteps']} diffusers {d.timesteps.numpy()}"
    if not np.array_equal(wan_t.numpy().astype(np.float64), case["timesteps"]):
        return f"{name}: timesteps differ from the Wan transcription"
    d32, _ = run(DiffusersStep(d), case["sigmas"], x0, g, torch.float32)
    cpp = case["xs"]
    if case["solver"] == "euler":
        if not np.array_equal(d32.view(np.uint32), cpp.view(np.uint32)):
            k = int(np.argmax(np.any(d32 != cpp, axis=1)))
            return f"{name}: Euler not bit-identical to diffusers at step {k}: max diff {np.abs(d32[k] - cpp[k]).max():.3e}"
        return None
    t32, _ = run(flow_sampler.WanUniPC(steps, shift, torch.float32, N_TRAIN), case["sigmas"], x0, g, torch.float32)
    if not np.array_equal(t32.view(np.uint32), d32.view(np.uint32)):
        return f"{name}: transcription of Wan's scheduler differs from diffusers in fp32 (max {np.abs(t32 - d32).max():.3e})"
    r64, _ = run(flow_sampler.WanUniPC(steps, shift, torch.float64, N_TRAIN), case["sigmas"], x0.to(torch.float64), g,
                 torch.float64)
    e_cpp_any = 0.0
    for k in range(1, steps + 1):
        ref = r64[k].astype(np.float64)
        e_d = float(np.abs(d32[k] - ref).max())
        e_c = float(np.abs(cpp[k] - ref).max())
        bound = 8 * e_d + 0.5 * float(np.abs(ref).max()) * 2.0**-23
        e_cpp_any = max(e_cpp_any, e_c)
        if e_c > bound:
            return f"{name}: step {k}: max|C++ - fp64| {e_c:.3e} > bound {bound:.3e} (diffusers {e_d:.3e})"
    if e_cpp_any == 0.0:
        return f"{name}: C++ equals the fp64 run exactly at every step (not computing in fp32?)"
    print(f"  {name}: result E_cpp {e_c:.3e}, E_diffusers {e_d:.3e}, bound {bound:.3e}")
    return None


def main():
    torch.set_num_threads(1)
    cases = read_cases(sys.argv[1])
    fails = [m for m in (check(c) for c in cases) if m]
    for m in fails:
        print("FAIL", m)
    print(f"sampler vs diffusers: {len(cases) - len(fails)}/{len(cases)} cases pass "
          f"({sum(c['solver'] == 'euler' for c in cases)} Euler bit-identical, UniPC within the derived bound)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
