"""Rewrite the Kokoro ONNX model once: ConvInteger as MatMulInteger, cut in two at the decoder.

Why: ConvInteger is ~65 % of the model's time, and onnxruntime runs it as an im2col plus
a u8 x u8 GEMM that cannot use the CPU's VNNI instructions. The export's weights are uint8;
shifting them by 128 to int8 (and the weight zero point with them, so ``w - zp`` is
unchanged) lets each convolution run as Pad → Gather (the k taps' columns) → MatMulInteger (u8
activations x s8 weights), which takes the fast path. The output is **bit-identical**
(integer arithmetic, same products and sums) and a synthesis costs about 25 % less CPU
(bench/kokoro/FINDINGS.md). Convolutions that are not 1-D, grouped or strided stay as they are.
The Snake activations' squares (``Pow(x, 2)``) become ``Mul(x, x)``: the same values, in
half the time (:func:`squares_as_products`).

Then the graph is **cut in two** where the decoder begins (:func:`split`): a *predictor*
(tokens, style, speed → each token's duration in frames, and per frame the text features,
pitch and energy the decoder reads) and a *decoder* (those frames and the style → audio).
The decoder is over 95 % of the work and its cost follows the frames it is given, so the
engine reads the predicted energy and hands it only the frames around the speech: the
~0.4 s before and ~1.1 s after it that every call made and then threw away are never
computed (bench/README.md, issue 22). Both halves together are the same nodes and weights
as the whole; fed every frame, the decoder's audio is bit-identical to the whole model's.

Run in a child process (``python -m bulletin.engines.offline.kokoro.rewrite SRC PREDICTOR
DECODER``) by :mod:`bulletin.engines.offline.kokoro.store`: loading the model into ``onnx``
protobufs peaks at
about 1.2 GB, which the build process should never hold. Needs the ``onnx`` package.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

#: Bump when the rewrite changes (the cached files' names carry it). 2: cut in two;
#: 3: a convolution's columns gathered, not sliced and concatenated; squares as products.
REWRITE_VERSION = 3
#: The tensors where the export's graph is cut (this model's names; its sha256 is pinned), and
#: the names the two halves give them: each token's frames, then per frame the text
#: features [1, 512, F], the pitch and the energy [1, 2F] (two values a frame).
CUT = {
    "/encoder/Cast_output_0": "durations",
    "/encoder/MatMul_1_output_0": "features",
    "/encoder/Reshape_output_0": "pitch",
    "/encoder/Reshape_1_output_0": "energy",
}
PREDICTOR_OUTPUTS = ("durations", "features", "pitch", "energy")
DECODER_INPUTS = ("features", "pitch", "energy", "style")


def rewrite(src: Path, predictor: Path, decoder: Path) -> int:
    """Write the rewritten model of ``src`` as its two halves; returns how many nodes were rewritten."""
    import onnx

    model = onnx.load(str(src))
    count = convolutions_as_matmuls(model)
    squares_as_products(model)
    first, second = split(model)
    onnx.save(first, str(predictor))
    onnx.save(second, str(decoder))
    return count


def convolutions_as_matmuls(model: Any) -> int:
    """Rewrite ``model``'s 1-D ConvInteger nodes in place; returns how many."""
    from onnx import helper, numpy_helper

    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    added: list[Any] = []
    nodes: list[Any] = []
    count = 0

    def const(name: str, value: np.ndarray) -> str:
        added.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, output: str, *inputs: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, list(inputs), [output], **attributes))
        return output

    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if (
            node.op_type != "ConvInteger"
            or len(attrs.get("kernel_shape", [])) != 1
            or attrs.get("group", 1) != 1
            or list(attrs.get("strides", [1])) != [1]
            or node.input[1] not in initializers
        ):
            nodes.append(node)
            continue
        count += 1
        weights = numpy_helper.to_array(initializers[node.input[1]])  # uint8 [out, in, k]
        out_ch, in_ch, k = weights.shape
        dilation = attrs.get("dilations", [1])[0]
        pad0, pad1 = attrs.get("pads", [0, 0])
        w_zero = int(numpy_helper.to_array(initializers[node.input[3]])) if len(node.input) > 3 else 0
        signed = (weights.astype(np.int16) - 128).astype(np.int8)  # (w-128) - (zp-128) == w - zp
        pre = node.name + "_mmi"
        zero8 = const(pre + "_wzp", np.array(w_zero - 128, dtype=np.int8))
        matrix = const(pre + "_W", np.ascontiguousarray(signed.transpose(2, 1, 0).reshape(k * in_ch, out_ch)))
        x, x_zero = node.input[0], node.input[2]
        columns = op("Transpose", pre + "_xt", x, perm=[0, 2, 1])  # [1, T, C]
        if k > 1:
            pads = const(pre + "_pads", np.array([0, pad0, 0, 0, pad1, 0], np.int64))
            padded = op("Pad", pre + "_pad", columns, pads, x_zero, mode="constant")
            # The columns [1, T, k*C] in one Gather: row t is the padded input at t, t+d, …,
            # t+(k-1)d. k Slices and a Concat made the same bytes but held every slice beside
            # the columns (the decoder's largest tensors, ~0.16 MB a frame at its last stage)
            # and copied the input twice. The indices: Range(Tp - (k-1)d) + [0, d, …, (k-1)d].
            span = const(pre + "_span", np.array([dilation * (k - 1)], np.int64))
            length = op("Sub", pre + "_len", op("Shape", pre + "_tp", padded, start=1, end=2), span)
            first = const(pre + "_0", np.array(0, np.int64))
            step = const(pre + "_1", np.array(1, np.int64))
            times = op("Range", pre + "_t", first, op("Squeeze", pre + "_n", length), step)
            rows = op("Unsqueeze", pre + "_tc", times, const(pre + "_ax", np.array([1], np.int64)))
            taps = const(pre + "_taps", (np.arange(k, dtype=np.int64) * dilation)[None, :])
            gathered = op("Gather", pre + "_g", padded, op("Add", pre + "_idx", rows, taps), axis=1)
            columns = op(
                "Reshape", pre + "_cols", gathered, const(pre + "_rs", np.array([1, -1, k * in_ch], np.int64))
            )
        product = op("MatMulInteger", pre + "_y", columns, matrix, x_zero, zero8)
        nodes.append(helper.make_node("Transpose", [product], [node.output[0]], perm=[0, 2, 1]))
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    used = {name for n in graph.node for name in n.input}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return count


def squares_as_products(model: Any) -> int:
    """Rewrite ``Pow(x, 2)`` as ``Mul(x, x)`` in place (the Snake activations' sin²); returns how many.

    onnxruntime computes a square either way (the same samples), but its Pow goes through
    the general broadcasting power kernel: twice the time of a Mul.
    """
    from onnx import numpy_helper

    graph = model.graph
    constants = {i.name: i for i in graph.initializer}
    constants.update({n.output[0]: n.attribute[0].t for n in graph.node if n.op_type == "Constant"})
    count = 0
    for node in graph.node:
        if node.op_type != "Pow" or node.input[1] not in constants:
            continue
        exponent = numpy_helper.to_array(constants[node.input[1]])
        if exponent.size == 1 and float(exponent) == 2.0:
            node.op_type = "Mul"
            node.input[1] = node.input[0]
            count += 1
    return count


def split(model: Any) -> tuple[Any, Any]:
    """The predictor and the decoder of ``model``, their cut tensors named as in :data:`CUT`."""
    from onnx import utils

    for node in model.graph.node:
        node.input[:] = [CUT.get(name, name) for name in node.input]
        node.output[:] = [CUT.get(name, name) for name in node.output]
    for info in model.graph.value_info:
        info.name = CUT.get(info.name, info.name)
    extractor = utils.Extractor(model)
    predictor = extractor.extract_model(["tokens", "style", "speed"], list(PREDICTOR_OUTPUTS))
    decoder = extractor.extract_model(list(DECODER_INPUTS), ["audio"])
    inputs = {i.name for i in decoder.graph.input}
    if inputs != set(DECODER_INPUTS):  # the decoder reaches past the cut: not this model
        raise ValueError(f"the decoder needs {sorted(inputs - set(DECODER_INPUTS))} too")
    return predictor, decoder


def main(argv: list[str]) -> int:
    """``python -m bulletin.engines.offline.kokoro.rewrite SRC PREDICTOR DECODER``: 0 and the count, or 1."""
    if len(argv) != 3:
        usage = "usage: python -m bulletin.engines.offline.kokoro.rewrite SRC PREDICTOR DECODER"
        print(usage, file=sys.stderr)
        return 2
    try:
        count = rewrite(Path(argv[0]), Path(argv[1]), Path(argv[2]))
    except Exception as exc:  # reported on one line; the parent turns it into a ModelError
        print(f"{type(exc).__name__}: {exc}".splitlines()[0][:300], file=sys.stderr)
        return 1
    print(count)
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a child process
    sys.exit(main(sys.argv[1:]))
