"""Optimizers (SGD with momentum, Adam/AdamW) and learning-rate schedules.

An optimizer holds a list of :class:`~tinyae.module.Parameter` and, at each
``step()``, reads every ``p.data`` and ``p.grad`` afresh and updates ``p.data``
in place. Update rules follow PyTorch's, so results can be compared one to one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

from . import backend, kernels
from .module import Parameter
from .validation import check_int, check_real


class Optimizer:
    """Base class: the parameter list, the learning rate, zero_grad and to().

    ``step()`` warns (a UserWarning) when no trainable parameter received a gradient since
    ``zero_grad()`` (:attr:`Parameter.received_grad`): a step on zero gradients is almost always a
    gradient that never reached the model. The flag is set by ``backward``'s ``p.grad += ...`` and
    by assigning ``p.grad = g``; writing into the array (``p.grad[...] = g``) does not set it.
    """

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__}: item {i} of params is a {type(p).__name__}, expected a "
                    f"Parameter (pass model.parameters())"
                )
        self.lr = check_real(type(self).__name__, "lr", lr, low=0.0, low_open=True)
        # One dict of per-parameter state arrays (moments) per parameter.
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _warn_if_no_gradient(self) -> None:
        """Warn when no trainable parameter received a gradient since zero_grad(): the step runs on
        zero gradients (the usual cause: PyTorch's habit ``loss.backward()`` alone, whose dL/dpred
        never reached the model). It reads each parameter's flag, not its array: no device sync."""
        trainable = [p for p in self.params if p.trainable]
        if trainable and not any(p.received_grad for p in trainable):
            warnings.warn(
                f"{type(self).__name__}.step(): no parameter received a gradient since zero_grad(), so this step "
                f"is taken with zero gradients (only momentum or weight decay can move the weights). tinyae has "
                f"no autograd: loss.backward() only returns dL/dpred, which must be passed back through the "
                f"model: model.backward(loss.backward()), or use model.forward_backward(x)",
                UserWarning,
                stacklevel=3,  # the caller of step()
            )

    def state_dict(self) -> dict[str, Any]:
        """A snapshot of everything ``step()`` changes or reads: host copies of the per-parameter
        state (moments) and the optimizer's own attributes (lr, step count, betas, ...)."""
        return {
            "state": [{key: backend.to_numpy(value).copy() for key, value in state.items()} for state in self.state],
            "attributes": {key: value for key, value in vars(self).items() if key not in ("params", "state")},
        }

    def load_state_dict(self, snapshot: dict[str, Any]) -> None:
        """Go back to a :meth:`state_dict` snapshot; the moments return to their parameters' backends."""
        self.state = [
            # copies: step() updates the moments in place, and the snapshot may be loaded again
            {key: backend.to_backend(value.copy(), backend.backend_of(p.data)) for key, value in state.items()}
            for p, state in zip(self.params, snapshot["state"], strict=True)
        ]
        for key, value in snapshot["attributes"].items():
            setattr(self, key, value)

    def to(self, name: str) -> Optimizer:
        """Move the optimizer's state (moments) to backend ``name``; returns self."""
        for state in self.state:
            for key, value in state.items():
                state[key] = backend.to_backend(value, name)
        return self

    def _buffer(self, i: int, key: str) -> Any:
        """The state array ``key`` of parameter i (zeros at first use), on p.data's backend and dtype."""
        p, state = self.params[i], self.state[i]
        buf = state.get(key)
        if buf is None:
            buf = state[key] = backend.array_module(p.data).zeros_like(p.data)
        elif backend.backend_of(buf) != backend.backend_of(p.data):
            raise RuntimeError(
                f"{type(self).__name__}: parameter {p.name or i} is on {backend.backend_of(p.data)!r} but its "
                f"optimizer state is on {backend.backend_of(buf)!r}; after model.to(name) call optimizer.to(name)"
            )
        elif buf.dtype != p.data.dtype:  # e.g. the parameter was switched to float64: keep the moments
            buf = state[key] = backend.array_module(buf).astype(buf, p.data.dtype)
        return buf


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional (heavy-ball) momentum.

        v <- mu v + g        (v starts at zero, so v = g at the first step)
        theta <- theta - lr v

    With ``momentum=0`` this is plain ``theta <- theta - lr g``. ``state[i]["velocity"]`` is v.
    The update is the kernel :func:`tinyae.kernels.sgd_update`.
    """

    def __init__(self, params: Iterable[Parameter], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = check_real("SGD", "momentum", momentum, low=0.0, high=1.0, high_open=True)

    def step(self) -> None:
        self._warn_if_no_gradient()
        for i, p in enumerate(self.params):
            if not p.trainable:
                continue
            velocity = self._buffer(i, "velocity") if self.momentum else None
            kernels.sgd_update(p.data, p.grad, velocity, lr=self.lr, momentum=self.momentum)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba) with PyTorch's update rule, and AdamW's decoupled weight decay.

    At step t, for each parameter theta with gradient g:

        theta <- theta (1 - lr wd)                    (decoupled weight decay, if wd > 0)
        m <- b1 m + (1 - b1) g                       (first moment)
        v <- b2 v + (1 - b2) g^2                     (second moment)
        m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)   (bias correction)
        theta <- theta - lr m_hat / (sqrt(v_hat) + eps)

    eps is added after the bias-corrected square root, as in PyTorch. ``state[i]["m"]`` and
    ``["v"]`` are m and v (PyTorch's ``exp_avg`` and ``exp_avg_sq``); ``t`` counts the calls of
    ``step()`` and ``steps[i]`` the updates of parameter i, the t of its bias correction: a frozen
    parameter's count waits, as in PyTorch, so its correction starts afresh when it is unfrozen.
    The update is the kernel :func:`tinyae.kernels.adam_update` (derivation: docs/adam.md).
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}") from None
        # beta = 1 would never forget (and divide by 1 - beta^t = 0 in the bias correction)
        self.betas = (check_real("Adam", "betas[0]", b1, low=0.0, high=1.0, high_open=True),
                      check_real("Adam", "betas[1]", b2, low=0.0, high=1.0, high_open=True))
        self.eps = check_real("Adam", "eps", eps, low=0.0, low_open=True)
        self.weight_decay = check_real("Adam", "weight_decay", weight_decay, low=0.0)
        self.t = 0
        self.steps = (0,) * len(self.params)  # a tuple: state_dict's snapshot must not share it

    def step(self) -> None:
        self._warn_if_no_gradient()
        self.t += 1
        b1, b2 = self.betas
        steps = list(self.steps)
        for i, p in enumerate(self.params):
            if not p.trainable:
                continue
            steps[i] += 1
            m, v = self._buffer(i, "m"), self._buffer(i, "v")
            kernels.adam_update(p.data, p.grad, m, v, lr=self.lr, beta1=b1, beta2=b2, eps=self.eps, step=steps[i],
                                weight_decay=self.weight_decay)
        self.steps = tuple(steps)


# --------------------------------------------------------------------------- #
# Learning-rate schedules: call .step() once per epoch (ReduceLROnPlateau: with the metric).
# --------------------------------------------------------------------------- #
class LRScheduler:
    """Base class: sets ``optimizer.lr`` from the epoch count."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def step(self) -> None:
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)

    def lr_at(self, epoch: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size): decay by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = check_int("StepLR", "step_size", step_size, minimum=1)
        self.gamma = check_real("StepLR", "gamma", gamma, low=0.0, high=1.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = min_lr + (base_lr - min_lr) (1 + cos(pi epoch / t_max)) / 2, flat after t_max."""

    def __init__(self, optimizer: Optimizer, t_max: int, min_lr: float = 0.0) -> None:
        super().__init__(optimizer)
        self.t_max = check_int("CosineAnnealingLR", "t_max", t_max, minimum=1)
        self.min_lr = check_real("CosineAnnealingLR", "min_lr", min_lr, low=0.0)

    def lr_at(self, epoch: int) -> float:
        progress = min(epoch, self.t_max) / self.t_max
        return self.min_lr + (self.base_lr - self.min_lr) * (1.0 + math.cos(math.pi * progress)) / 2.0


class ReduceLROnPlateau:
    """Multiply lr by ``factor`` when a metric (e.g. validation loss) stops improving.

    ``step(metric)`` once per epoch. An epoch improves on the best so far when
    ``metric < best - |best| threshold`` (mode "min") or ``metric > best + |best| threshold``
    (mode "max"). After more than ``patience`` epochs without improvement the lr is
    reduced (never below ``min_lr``) and ``cooldown`` epochs pass before counting again.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = check_real(name, "factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
        self.patience = check_int(name, "patience", patience, minimum=0)
        # threshold >= 0: a negative margin would count a worse metric as an improvement
        self.threshold = check_real(name, "threshold", threshold, low=0.0)
        self.cooldown = check_int(name, "cooldown", cooldown, minimum=0)
        self.min_lr = check_real(name, "min_lr", min_lr, low=0.0)
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def _improves(self, metric: float) -> bool:
        # A relative margin, |best| * threshold, that works for either sign of the metric.
        margin = abs(self.best) * self.threshold if math.isfinite(self.best) else 0.0
        return metric < self.best - margin if self.mode == "min" else metric > self.best + margin

    def step(self, metric: float) -> None:
        metric = float(metric)
        if not math.isfinite(metric):
            raise ValueError(f"ReduceLROnPlateau: expected a finite metric, got {metric}")
        if self._improves(metric):
            self.best, self.bad_epochs = metric, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            self.optimizer.lr = max(self.optimizer.lr * self.factor, self.min_lr)
            self.cooldown_left, self.bad_epochs = self.cooldown, 0
