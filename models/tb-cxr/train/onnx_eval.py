"""Minimal ONNX graph interpreter (torch kernels) to check the exported graph.

onnxruntime is not available to the training environment, so this walks the
exported graph node by node using its own initializers and attributes. It shares
no code with the torch module that was exported, so agreement between the two is
evidence that the graph (weights, folded BatchNorm, op order) is right. It only
knows the ops this model uses and fails loudly on anything else. It also counts
FLOPs of the graph that is actually shipped.
"""
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def run(model, image):
    """Evaluate `model` (onnx.ModelProto) on a float32 array; returns {output name: ndarray}."""
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    env[model.graph.input[0].name] = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    with torch.no_grad():
        for node in model.graph.node:
            a = _attrs(node)
            x = [env[i] if i else None for i in node.input]
            op = node.op_type
            if op == "Conv":
                pads = a.get("pads", [0, 0, 0, 0])
                if pads[0] != pads[2] or pads[1] != pads[3]:
                    raise NotImplementedError("asymmetric pads")
                y = F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=a.get("strides", [1, 1]),
                             padding=pads[:2], dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
            elif op == "Relu":
                y = torch.relu(x[0])
            elif op == "Sigmoid":
                y = torch.sigmoid(x[0])
            elif op == "MaxPool":
                pads = a.get("pads", [0, 0, 0, 0])
                y = F.max_pool2d(x[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), pads[:2])
            elif op == "ReduceMean":
                y = torch.mean(x[0], dim=tuple(a["axes"]), keepdim=bool(a.get("keepdims", 1)))
            elif op == "Add":
                y = x[0] + x[1]
            elif op == "Mul":
                y = x[0] * x[1]
            elif op == "Div":
                y = x[0] / x[1]
            elif op == "Constant":
                y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
            elif op == "Identity":
                y = x[0]
            else:
                raise NotImplementedError(f"op {op} not supported by onnx_eval")
            env[node.output[0]] = y
    return {o.name: env[o.name].numpy() for o in model.graph.output}


def count_flops(model, hw=(128, 128)):
    """FLOPs per image of the graph: a multiply-add counts 2, other element ops 1.

    Shapes come from onnx shape inference with batch 1.
    """
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        dims = [d.dim_value if d.dim_value > 0 else 1 for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    inits = {t.name: list(t.dims) for t in model.graph.initializer}
    shapes.update(inits)
    total = 0
    for node in model.graph.node:
        out = shapes.get(node.output[0])
        if out is None:
            continue
        n_out = int(np.prod(out))
        op = node.op_type
        if op == "Conv":
            w = inits[node.input[1]]  # [Cout, Cin/g, kh, kw]
            total += 2 * n_out * int(np.prod(w[1:]))
            if len(node.input) > 2:
                total += n_out
        elif op == "MaxPool":
            k = _attrs(node)["kernel_shape"]
            total += n_out * int(np.prod(k))
        elif op == "ReduceMean":
            total += int(np.prod(shapes[node.input[0]]))
        elif op in ("Relu", "Sigmoid", "Add", "Mul", "Div"):
            total += n_out
    return total
