"""The training step's loss and gradient as recorded programs (see `_trace`).

A model's step runs the same equations every time: its control flow is fixed by its declared
layers and loss. So the first step on a batch shape records them (the layers and the loss run
on Tracers; in forward mode the rules run on the weights' seeded tangents, in reverse mode the
backward pass is recorded too, see `reverse_pass`) and later steps replay the program on the
new weights, without the layers' Python, the dispatch or the checks of an eager pass.

Full-batch training data comes back at every step: it is *fixed*, and the equations that
depend on it and on the seeds alone (the first layer's seeded tangent, for one) fold into
arrays computed once and kept, within a quarter of the memory budget.

A layer or loss whose Python reads values (``traceable = False``, or found out while
recording) runs eagerly, as does a step whose plan takes several passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._core import Rows, Variable, new_tag, unit_seeds
from ._linear import linearize
from ._trace import Program, TracingError, record

__all__ = ["StepPrograms", "reverse_pass"]


def reverse_pass(loss_of: Any, layout: Sequence[int], ws: Sequence[Any], x: Any, y: Any
                 ) -> list[Any]:
    """``[loss, gradient]`` at the weights `ws` (flat: `layout` gives each layer's count), by one
    reverse pass: the rules' linear equations recorded on symbolic tangents of every weight and
    run back from the loss. On plain arrays it is the eager reverse step; on recorded arrays
    it records the forward and the backward pass of a program (see `_reverse_step`)."""
    def loss(*flat: Any) -> Any:
        params, at = [], 0
        for n in layout:
            params.append(list(flat[at:at + n]))
            at += n
        return loss_of(params, x, y)

    value, lin = linearize(loss, list(ws), new_tag())
    with np.errstate(invalid="ignore"):  # 0 * inf: a NaN is looked for by the caller
        grads = lin.transposing_only().transpose(np.ones(()))
    if not grads:  # a model without weights
        return [value, np.zeros(0)]
    return [value, np.concatenate([np.reshape(g, -1) for g in grads])]


class _ConstantLossError(Exception):
    """The step's loss does not depend on the weights: nothing to replay."""


class StepPrograms:
    """The recorded steps of one model, by batch.

    Args:
        loss_of: ``loss_of(params, x, y)``, the training loss at the weights `params`.
    """

    def __init__(self, loss_of: Any) -> None:
        self._loss_of = loss_of
        self._programs: dict[Any, Program] = {}
        # by the shapes of fixed data, the program recorded for other data of those shapes,
        # emptied of it: new data of the same shapes refolds it rather than recording again
        self._templates: dict[Any, Program] = {}
        self._seeds: list[list[Rows]] | None = None
        self._for: Any = None  # the weights' layout the seeds and programs were made for
        self._kept = 0  # bytes of folded arrays kept by the programs
        self._full = False  # no room was left to fold the last batch of fixed data
        self.eager = False  # a layer or the loss cannot be recorded
        self.reverse = False  # the gradient by reverse mode (see GradientEngine.reverse)
        self._params_of: Any = None
        self._arrays: list[np.ndarray] = []

    def __getstate__(self) -> dict[str, Any]:
        """A copy travels without its programs (compiled Python, recorded again after)."""
        state = dict(self.__dict__)
        state.update(_programs={}, _templates={}, _seeds=None, _for=None, _kept=0,
                     _full=False, _params_of=None, _arrays=[])
        return state

    def clear(self) -> None:
        """Forget every program (the budget changed)."""
        self._programs.clear()
        self._templates.clear()
        self._kept = 0
        self._full = False
        self._for = None

    @property
    def kept_bytes(self) -> int:
        """The bytes of folded arrays the programs keep."""
        return self._kept

    def release_fixed(self) -> None:
        """Forget the programs of fixed data, and the data they keep (the end of a fit)."""
        for key in [k for k in self._programs if type(k[0]) is int]:
            self._kept -= self._programs.pop(key).kept_bytes
        self._full = False

    def replay(self, weights: Any, parts: tuple[Any, ...], x: np.ndarray, y: np.ndarray,
               fixed: bool, params: Sequence[Sequence[Any]]) -> tuple[Any, Any] | None:
        """The loss and its gradient at `params` from the batch's recorded program, or None
        when there is none (`record` makes one). `parts` are the layers and the loss: a
        program is for those very objects (or equal ones: a layer or loss is its
        configuration)."""
        made_for = self._for
        if made_for is None or made_for[0] is not weights.layout or made_for[1] != parts:
            return None
        if fixed and not self._full:
            program = self._programs.get((id(x), id(y)))
        else:
            program = self._programs.get((x.shape, x.dtype.str, y.shape, y.dtype.str))
        if program is None:
            return None
        if params is not self._params_of:  # the weights' arrays, flat, kept while they last
            self._params_of, self._arrays = params, [w for ws in params for w in ws]
        try:
            value, tangent = program.run([*self._arrays, x, y])
        except TracingError:  # a shape its recorded Python read differs here: run eagerly
            self._programs.clear()
            self._templates.clear()
            self._kept, self.eager = 0, True
            return None
        return value, tangent

    def record(self, weights: Any, parts: tuple[Any, ...], x: np.ndarray, y: np.ndarray,
               fixed: bool, params: Sequence[Sequence[Any]], budget: int
               ) -> tuple[Any, Any] | None:
        """Record the batch's program (forward or reverse mode, as `reverse` says) and give
        this step's loss and gradient; None when the step must run eagerly (a layer or the loss
        cannot be recorded)."""
        made_for = self._for
        if made_for is None or made_for[0] is not weights.layout or made_for[1] != parts:
            self.clear()
            self._seeds, self._for = None, (weights.layout, parts)
            self.eager = not all(getattr(part, "traceable", True) for part in parts)
        if self.eager:
            return None
        if fixed and self._full:  # no room to fold more data: the shape's program serves
            fixed = False
        self._params_of, self._arrays = params, [w for ws in params for w in ws]
        try:
            _, out = self._record(weights, self._arrays, x, y, fixed, budget)
        except (TracingError, _ConstantLossError):
            self.eager = True
            return None
        return out[0], out[1]

    def _record(self, weights: Any, arrays: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                fixed: bool, budget: int) -> tuple[Program, list[Any]]:
        # fixed data folds within what is left of a quarter of the budget
        room = max(budget // 4 - self._kept, 0) if fixed else 0
        shapes = (x.shape, x.dtype.str, y.shape, y.dtype.str)
        template = self._templates.get(shapes) if fixed else None
        program = None
        if template is not None and template.kept_bytes <= room:
            # other data of these shapes was recorded: fold this data into its program
            try:
                program = template.refolded([*arrays, x, y])
            except Exception:  # the recorded equations do not serve these values: record
                del self._templates[shapes]
        if program is not None:
            out = program.run([*arrays, x, y])
        else:
            layout = [len(ws) for ws in weights.params]
            step = self._reverse_step(layout) if self.reverse else \
                self._forward_step(weights, layout)
            flags = [False] * len(arrays) + [fixed, fixed]
            program, out = record(step, [*arrays, x, y], flags, budget=room)
            if fixed and not program.folded:
                # nothing to fold, or no room to keep it: a program that replays every
                # equation (the same as one recorded on varying data) serves every batch of
                # this shape
                fixed, self._full = False, True
            if fixed:
                self._templates[shapes] = program.emptied()
        self._kept += program.kept_bytes
        self._programs[(id(x), id(y)) if fixed else shapes] = program
        return program, out

    def _reverse_step(self, layout: list[int]) -> Any:
        """The step in reverse mode: the loss's linear map in the weights, recorded inside
        the step and transposed there, so that the program holds the backward pass too."""
        def step(*inputs: Any) -> list[Any]:
            return reverse_pass(self._loss_of, layout, inputs[:-2], inputs[-2], inputs[-1])
        return step

    def _forward_step(self, weights: Any, layout: list[int]) -> Any:
        """The step in forward mode: every weight a direction, seeded with unit seeds."""
        seeds = self._unit_seeds(weights)

        def step(*inputs: Any) -> list[Any]:
            tag = new_tag()
            ws, xb, yb = inputs[:-2], inputs[-2], inputs[-1]
            params, at = [], 0
            for n, layer_seeds in zip(layout, seeds):
                params.append([Variable._make(w, t, tag)
                               for w, t in zip(ws[at:at + n], layer_seeds)])
                at += n
            out = self._loss_of(params, xb, yb)
            if type(out) is not Variable or out.tag != tag:
                raise _ConstantLossError
            return [out.value, out.tangent]
        return step

    def _unit_seeds(self, weights: Any) -> list[list[Rows]]:
        """Each weight's tangent when every weight is a direction: its rows of the identity,
        as unit seeds (constants of the program)."""
        if self._seeds is None:
            seeds, offset = [], 0
            for ts in weights.views(np.eye(weights.size)):
                layer = []
                for t in ts:
                    # unit seeds, so that kernels that can skip their zeros do
                    layer.append(unit_seeds(np.ascontiguousarray(t), None, weights.size,
                                            offset))
                    offset += t[0].size
                seeds.append(layer)
            self._seeds = seeds
        return self._seeds
