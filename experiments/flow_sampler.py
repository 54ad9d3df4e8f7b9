"""Wan2.1's flow-matching sampling, transcribed for the oracle of reference/sampler/flow_sampler.cpp.

Transcribed (not copied) from Wan-Video/Wan2.1 wan/utils/fm_solvers_unipc.py (FlowUniPCMultistepScheduler: __init__,
set_timesteps, convert_model_output, multistep_uni_p_bh_update, multistep_uni_c_bh_update, step) as
wan/text2video.py drives it: FlowUniPCMultistepScheduler(num_train_timesteps=1000, shift=1,
use_dynamic_shifting=False), set_timesteps(steps, shift=shift), then per step two model calls (cond, then uncond),
noise_pred = uncond + guide_scale * (cond - uncond), sample = step(noise_pred, t, sample).
Fixed to Wan's defaults: solver_order 2, prediction_type flow_prediction, predict_x0, solver_type bh2,
lower_order_final, no thresholding, no disabled corrector, no solver_p, final_sigmas_type "zero".

One deliberate deviation so the same code runs in fp32 (as Wan does) and fp64 (the reference run): the solver's
scalars live in the dtype of `self.sigmas` (float32 as in Wan, or the same float32 values widened to float64), and
the small vectors rks and b are built with torch.stack in that dtype (Wan: torch.tensor, i.e. float32).
Euler (ours; Wan2.1 ships no Euler solver) uses the same schedule: x + (sigma_next - sigma) * v.
"""
import numpy as np
import torch


def wan_schedule(steps, shift, num_train_timesteps=1000):
    """(sigmas float32 [steps + 1], timesteps int64 [steps]) exactly as the scheduler's set_timesteps makes them."""
    n = num_train_timesteps
    # __init__ with shift=1 (text2video.py): training sigmas as a float32 tensor, shift 1 is the identity
    alphas = np.linspace(1, 1 / n, n)[::-1].copy()
    train = torch.from_numpy(1.0 - alphas).to(dtype=torch.float32)
    train = 1 * train / (1 + (1 - 1) * train)
    sigma_max, sigma_min = train[0].item(), train[-1].item()
    # set_timesteps(steps, shift=shift)
    sigmas = np.linspace(sigma_max, sigma_min, steps + 1).copy()[:-1]
    sigmas = shift * sigmas / (1 + (shift - 1) * sigmas)
    timesteps = sigmas * n
    sigmas = np.concatenate([sigmas, [0]]).astype(np.float32)
    return torch.from_numpy(sigmas), torch.from_numpy(timesteps).to(dtype=torch.int64)


class WanUniPC:
    """FlowUniPCMultistepScheduler.step for solver_order 2 (the general-order loops kept as in Wan)."""

    order_max = 2

    def __init__(self, steps, shift, dtype=torch.float32, num_train_timesteps=1000):
        sigmas, self.timesteps = wan_schedule(steps, shift, num_train_timesteps)
        self.sigmas = sigmas.to(dtype)
        self.model_outputs = [None] * self.order_max
        self.lower_order_nums = 0
        self.last_sample = None
        self.this_order = None
        self.step_index = 0
        self.orders = []  # (corrector order or 0, predictor order) per step, for tests

    def _lambda(self, sigma):
        alpha, sigma = 1 - sigma, sigma
        return torch.log(alpha) - torch.log(sigma)

    def _bh(self, sigma_t, sigma_s0, order, hist_sigmas, hist_outputs, m0):
        """The shared part of UniP/UniC: h, h_phi_1, B_h, rks, D1s, R, b."""
        lambda_t, lambda_s0 = self._lambda(sigma_t), self._lambda(sigma_s0)
        h = lambda_t - lambda_s0
        rks, d1s = [], []
        for i in range(1, order):
            rk = (self._lambda(hist_sigmas[i - 1]) - lambda_s0) / h
            rks.append(rk)
            d1s.append((hist_outputs[i - 1] - m0) / rk)
        rks.append(torch.ones((), dtype=h.dtype))
        rks = torch.stack(rks)
        hh = -h  # predict_x0
        h_phi_1 = torch.expm1(hh)
        h_phi_k = h_phi_1 / hh - 1
        factorial_i = 1
        b_h = torch.expm1(hh)  # bh2
        r, b = [], []
        for i in range(1, order + 1):
            r.append(torch.pow(rks, i - 1))
            b.append(h_phi_k * factorial_i / b_h)
            factorial_i *= i + 1
            h_phi_k = h_phi_k / hh - 1 / factorial_i
        return h_phi_1, b_h, torch.stack(r), torch.stack(b), (torch.stack(d1s, dim=0) if d1s else None)

    def _uni_p(self, sample, order):
        i = self.step_index
        m0 = self.model_outputs[-1]
        sigma_t, sigma_s0 = self.sigmas[i + 1], self.sigmas[i]
        alpha_t = 1 - sigma_t
        h_phi_1, b_h, r, b, d1s = self._bh(sigma_t, sigma_s0, order, [self.sigmas[i - k] for k in range(1, order)],
                                           [self.model_outputs[-(k + 1)] for k in range(1, order)], m0)
        x_t_ = sigma_t / sigma_s0 * sample - alpha_t * h_phi_1 * m0
        if d1s is None:
            return x_t_
        rhos_p = torch.tensor([0.5], dtype=sample.dtype) if order == 2 else torch.linalg.solve(r[:-1, :-1], b[:-1])
        pred_res = torch.einsum("k,k...->...", rhos_p.to(sample.dtype), d1s)
        return x_t_ - alpha_t * b_h * pred_res

    def _uni_c(self, this_output, last_sample, this_sample, order):
        i = self.step_index
        m0 = self.model_outputs[-1]
        sigma_t, sigma_s0 = self.sigmas[i], self.sigmas[i - 1]
        alpha_t = 1 - sigma_t
        h_phi_1, b_h, r, b, d1s = self._bh(sigma_t, sigma_s0, order, [self.sigmas[i - (k + 1)] for k in range(1, order)],
                                           [self.model_outputs[-(k + 1)] for k in range(1, order)], m0)
        rhos_c = torch.tensor([0.5], dtype=this_sample.dtype) if order == 1 else torch.linalg.solve(r, b).to(this_sample.dtype)
        x_t_ = sigma_t / sigma_s0 * last_sample - alpha_t * h_phi_1 * m0
        corr_res = torch.einsum("k,k...->...", rhos_c[:-1], d1s) if d1s is not None else 0
        d1_t = this_output - m0
        return x_t_ - alpha_t * b_h * (corr_res + rhos_c[-1] * d1_t)

    def step(self, model_output, sample):
        i = self.step_index
        use_corrector = i > 0 and self.last_sample is not None
        m = sample - self.sigmas[i] * model_output  # convert_model_output, flow_prediction, predict_x0
        corr = 0
        if use_corrector:
            corr = self.this_order
            sample = self._uni_c(m, self.last_sample, sample, self.this_order)
        for k in range(self.order_max - 1):
            self.model_outputs[k] = self.model_outputs[k + 1]
        self.model_outputs[-1] = m
        this_order = min(self.order_max, len(self.timesteps) - i)  # lower_order_final
        self.this_order = min(this_order, self.lower_order_nums + 1)  # warm-up
        self.last_sample = sample
        prev = self._uni_p(sample, self.this_order)
        self.orders.append((corr, self.this_order))
        if self.lower_order_nums < self.order_max:
            self.lower_order_nums += 1
        self.step_index += 1
        return prev


class Euler:
    def __init__(self, steps, shift, dtype=torch.float32, num_train_timesteps=1000):
        sigmas, self.timesteps = wan_schedule(steps, shift, num_train_timesteps)
        self.sigmas = sigmas.to(dtype)
        self.step_index = 0

    def step(self, model_output, sample):
        i = self.step_index
        self.step_index += 1
        return sample + (self.sigmas[i + 1] - self.sigmas[i]) * model_output


def sample_cfg(solver, x, guidance, velocity, inputs=None):
    """wan/text2video.py's loop: velocity(x, t, cond) for cond=True then False, v = vu + g (vc - vu), one step.
    `inputs`, if a list, receives the model input of every step."""
    for t in solver.timesteps:
        if inputs is not None:
            inputs.append(x.clone())
        vc = velocity(x, int(t), True)
        vu = velocity(x, int(t), False)
        x = solver.step(vu + guidance * (vc - vu), x)
    return x
