#!/usr/bin/env python3
"""Train the TB chest X-ray model and write the signed bundle.

One command rebuilds everything (split, training, export, metrics, card, signature):

    /usr/bin/python3 models/tb-cxr/train/train.py            # -> models/tb-cxr/1.0.0
    /usr/bin/python3 models/tb-cxr/train/train.py --quick    # smoke run into a temp dir

Design choices (why):
  * The split is by scan (one file = one scan) and stratified on label x variant so the
    augmented-only scans (white rotation borders) are spread evenly. The test split is
    only ever scored at the end; validation picks epochs, ensemble and thresholds.
  * Preprocessing is the appliance contract (preprocess.py). Augmentation simulates
    other devices on raw intensities BEFORE it (augment.py), exactly as a new site would.
  * Two small CAM CNNs trained with different seeds; averaging their probabilities inside
    the ONNX graph is kept only if it does not lose validation AUC.
  * CPU only, 2 threads, deterministic algorithms, everything seeded.
"""
import argparse
import csv
import datetime as dt
import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def shown(path):
    """A path as logs show it: relative to the repository, so logs committed with a bundle name no machine."""
    return os.path.relpath(Path(path).resolve(), REPO)
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "models" / "tools"))

import augment  # noqa: E402
import onnx_eval  # noqa: E402
import preprocess  # noqa: E402
from model import CamNet, ExportEnsemble, count_parameters  # noqa: E402
import sign_bundle  # noqa: E402

DATA_REL = "../shared/data/shenzhen-128"            # relative to the repository root
DEFAULT_OUT = REPO / "models" / "tb-cxr" / "1.0.0"
DEFAULT_KEY = REPO / "models" / "keys" / "dev" / "bundle-signing.key.pem"
DEFAULT_PUB = REPO / "models" / "keys" / "dev" / "bundle-signing.pub.pem"
COMMAND = "/usr/bin/python3 models/tb-cxr/train/train.py"
MAX_PARAMS = 5_000_000
MAX_FLOPS = 1_000_000_000
OPSET = 13
TARGETS = [("sens90", 0.90), ("sens85", 0.85), ("sens95", 0.95)]
N_BOOT = 2000


def log(msg, fh=None):
    print(msg, flush=True)
    if fh is not None:
        fh.write(msg + "\n")
        fh.flush()


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ------------------------------------------------------------------------------ data
def load_data(root):
    if not (root / "labels.csv").is_file():
        raise SystemExit(f"training data not found at {root} (expected {DATA_REL} relative to the "
                         f"repository root {REPO}, containing labels.csv and images/)")
    rows = list(csv.DictReader(open(root / "labels.csv", newline="")))
    imgs = []
    for r in rows:
        im = Image.open(root / r["file"])
        if im.mode != "L" or im.size != (128, 128):
            raise SystemExit(f"{r['file']}: expected 128x128 mode L, got {im.size} {im.mode}")
        imgs.append(np.asarray(im, dtype=np.uint8))
    labels = np.array([1 if r["label"] == "tb" else 0 for r in rows])
    return rows, np.stack(imgs), labels


def make_split(rows, labels, seed):
    """60/20/20 by scan, stratified on label x variant, fixed by seed."""
    strata = np.array([f"{r['label']}/{r['variant']}" for r in rows])
    idx = np.arange(len(rows))
    rest, test = train_test_split(idx, test_size=0.2, stratify=strata, random_state=seed)
    train, val = train_test_split(rest, test_size=0.25, stratify=strata[rest], random_state=seed)
    split = np.empty(len(rows), dtype=object)
    split[train], split[val], split[test] = "train", "validation", "test"
    return split


def preprocess_all(raw):
    """Contract preprocessing (numpy, float64) of a stack of raw images -> float32 [N,1,128,128]."""
    return torch.from_numpy(np.concatenate([preprocess.preprocess(x) for x in raw]))


# -------------------------------------------------------------------------- metrics
def auc(y, s):
    return float(roc_auc_score(y, s))


def threshold_for(y, s, target):
    """Largest t (a validation score) with sensitivity(score >= t) >= target."""
    pos = np.sort(s[y == 1])[::-1]
    k = int(math.ceil(target * len(pos) - 1e-9))
    # Floored to the 6 decimals stored in model.json, so the stored threshold still
    # refers the k-th positive (rounding up could drop it below the target).
    return math.floor(float(pos[max(k, 1) - 1]) * 1e6) / 1e6


def sens_spec(y, s, t):
    refer = s >= t
    return float(refer[y == 1].mean()), float((~refer[y == 0]).mean())


def bootstrap(y, s, t, seed, n=N_BOOT):
    rng = np.random.default_rng(seed)
    a, se, sp = [], [], []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        yy, ss = y[i], s[i]
        if yy.min() == yy.max():
            continue
        a.append(auc(yy, ss))
        e, p = sens_spec(yy, ss, t)
        se.append(e)
        sp.append(p)
    ci = lambda v: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
    return ci(a), ci(se), ci(sp)


# ------------------------------------------------------------------------- training
@torch.no_grad()
def predict(model, x, bs=128):
    model.eval()
    out = []
    for i in range(0, len(x), bs):
        out.append(model(x[i:i + bs])[0])
    return torch.cat(out).squeeze(1).numpy().astype(np.float64)


def train_member(k, seed, raw_tr, y_tr, x_val, y_val, epochs, max_batches, fh, t0):
    seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    net = CamNet()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=5e-4)
    bs = 32
    steps_per_epoch = min(math.ceil(len(raw_tr) / bs), max_batches or 10**9)
    total, warm = epochs * steps_per_epoch, steps_per_epoch
    # Linear warm-up for one epoch, then cosine decay: stable with BatchNorm from scratch.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    raw = torch.from_numpy(raw_tr).float()[:, None]
    yt = torch.from_numpy(y_tr).float()[:, None]
    best = (-1.0, -1, None)
    history = []
    for ep in range(1, epochs + 1):
        net.train()
        perm = torch.randperm(len(raw), generator=g)
        losses = []
        for b in range(steps_per_epoch):
            i = perm[b * bs:(b + 1) * bs]
            x = preprocess.equalise_midrank_torch(augment.train_augment(raw[i], g))
            logit, _ = net(x)
            loss = F.binary_cross_entropy_with_logits(logit, yt[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        v = predict(net, x_val)
        v_auc = auc(y_val, v)
        v_loss = float(F.binary_cross_entropy_with_logits(torch.from_numpy(v), torch.from_numpy(y_val).double()))  # v: logits
        history.append({"member": k, "epoch": ep, "train_loss": float(np.mean(losses)), "val_loss": v_loss,
                        "val_auc": v_auc, "elapsed_s": time.time() - t0})
        # Ties go to the later epoch (same ranking, more training).
        if v_auc >= best[0]:
            best = (v_auc, ep, {n: p.detach().clone() for n, p in net.state_dict().items()})
        log(f"member {k} epoch {ep:3d}/{epochs}  loss {np.mean(losses):.4f}  val_loss {v_loss:.4f}  "
            f"val_auc {v_auc:.4f}  best {best[0]:.4f}@{best[1]}  elapsed {time.time() - t0:7.1f}s", fh)
    net.load_state_dict(best[2])
    net.eval()
    return net, best[1], best[0], history


# --------------------------------------------------------------------------- export
def export_onnx(model, path):
    model.eval()
    dummy = torch.zeros(1, 1, 128, 128)
    torch.onnx.export(model, dummy, str(path), opset_version=OPSET, input_names=["image"],
                      output_names=["score", "heatmap"], do_constant_folding=True,
                      dynamic_axes={"image": {0: "N"}, "score": {0: "N"}, "heatmap": {0: "N"}})
    import onnx
    m = onnx.load(str(path))
    onnx.checker.check_model(m, full_check=True)
    inf = onnx.shape_inference.infer_shapes(m, strict_mode=True)

    def dims(v):
        return [d.dim_value if d.dim_value > 0 else -1 for d in v.type.tensor_type.shape.dim]

    assert [i.name for i in m.graph.input] == ["image"], "exactly one input named image"
    assert dims(m.graph.input[0]) == [-1, 1, 128, 128]
    outs = {o.name: dims(o) for o in inf.graph.output}
    assert set(outs) == {"score", "heatmap"} and outs["score"] == [-1, 1], outs
    for v in list(m.graph.input) + list(inf.graph.output):
        assert v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    return m, outs["heatmap"], opset


# ------------------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help=f"bundle directory (default {DEFAULT_OUT})")
    ap.add_argument("--quick", action="store_true", help="tiny smoke run (few batches) into a temp dir")
    ap.add_argument("--seed", type=int, default=20240324)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--members", type=int, default=2)
    ap.add_argument("--signing-key", type=Path, default=DEFAULT_KEY)
    ap.add_argument("--data", type=Path, default=None, help=f"data root (default {DATA_REL} from the repo root)")
    a = ap.parse_args()

    t0 = time.time()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    seed_everything(a.seed)
    epochs, max_batches = (2, 3) if a.quick else (a.epochs, None)
    out = a.out or (Path(tempfile.mkdtemp(prefix="tb-cxr-quick-")) if a.quick else DEFAULT_OUT)
    out.mkdir(parents=True, exist_ok=True)
    data_root = (a.data or (REPO / DATA_REL)).resolve()
    fh = open(out / "training-log.txt", "w")
    log(f"tb-cxr training  seed {a.seed}  epochs {epochs}  members {a.members}  out {shown(out)}  data {shown(data_root)}", fh)

    rows, raw, y = load_data(data_root)
    split = make_split(rows, y, a.seed)
    with open(out / "split.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "label", "variant", "split"])
        for r, s in zip(rows, split):
            w.writerow([r["file"], r["label"], r["variant"], s])
    tr, va, te = (np.where(split == s)[0] for s in ("train", "validation", "test"))
    log(f"split: train {len(tr)}  validation {len(va)}  test {len(te)}  "
        f"(TB {y[tr].sum()}/{y[va].sum()}/{y[te].sum()})", fh)
    x_val = preprocess_all(raw[va].astype(np.float64))
    x_test = preprocess_all(raw[te].astype(np.float64))

    # ---- train members (validation picks each member's epoch)
    members, history = [], []
    for k in range(a.members):
        net, ep, v_auc, hist = train_member(k, a.seed + 1000 * k, raw[tr], y[tr], x_val, y[va].astype(np.float64),
                                            epochs, max_batches, fh, t0)
        members.append((net, ep, v_auc))
        history += hist
    train_time = time.time() - t0

    # ---- ensemble or single: chosen on validation only
    val_single = [auc(y[va], predict(ExportEnsemble([m]), x_val)) for m, _, _ in members]
    best_k = int(np.argmax(val_single))
    full = ExportEnsemble([m for m, _, _ in members]).eval()
    val_full = auc(y[va], predict(full, x_val))
    use_ensemble = len(members) > 1 and val_full >= val_single[best_k]
    final = full if use_ensemble else ExportEnsemble([members[best_k][0]]).eval()
    chosen = list(range(len(members))) if use_ensemble else [best_k]
    log(f"validation AUC per member {[round(v, 4) for v in val_single]}, averaged {val_full:.4f} -> "
        f"{'ensemble of ' + str(len(members)) if use_ensemble else 'member ' + str(best_k)}", fh)

    # ---- export + checks
    onnx_path = out / "model.onnx"
    onnx_model, heat_shape, opset = export_onnx(final, onnx_path)
    params = count_parameters(final)
    flops = onnx_eval.count_flops(onnx_model)
    size = onnx_path.stat().st_size
    log(f"exported {shown(onnx_path)} ({size / 1e6:.2f} MB, opset {opset}), parameters {params:,}, "
        f"FLOPs/image {flops:,}, heatmap {heat_shape}", fh)
    assert params <= MAX_PARAMS and flops <= MAX_FLOPS and size < 20e6

    # Parity: the exported graph (independent interpreter) vs torch, and single vs batch.
    s_val = predict(final, x_val)
    s_test = predict(final, x_test)
    onnx_batch = onnx_eval.run(onnx_model, x_test.numpy())
    ref = np.array([onnx_eval.run(onnx_model, x_test[i:i + 1].numpy())["score"][0, 0] for i in range(len(te))],
                   dtype=np.float64)
    with torch.no_grad():
        torch_heat = final(x_test)[1].numpy()
    parity = {"scoreMaxAbsDiff": float(np.abs(onnx_batch["score"][:, 0] - s_test).max()),
              "singleVsBatchMaxAbsDiff": float(np.abs(ref - s_test).max()),
              "heatmapMaxAbsDiff": float(np.abs(onnx_batch["heatmap"] - torch_heat).max()),
              "heatmapMin": float(onnx_batch["heatmap"].min())}
    log(f"parity ONNX graph vs torch: {parity}", fh)
    assert parity["scoreMaxAbsDiff"] < 1e-4 and parity["singleVsBatchMaxAbsDiff"] < 1e-4
    assert parity["heatmapMin"] >= 0
    with open(out / "reference-scores.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "label", "score"])
        for i, s in zip(te, ref):
            w.writerow([rows[i]["file"], rows[i]["label"], f"{s:.6f}"])

    # ---- operating points on validation, metrics on test
    yv, yt = y[va], y[te]
    ops = []
    for name, target in TARGETS:
        t = threshold_for(yv, s_val, target)
        se, sp = sens_spec(yv, s_val, t)
        tse, tsp = sens_spec(yt, s_test, t)
        ops.append({"name": name, "targetSensitivity": target, "threshold": t,
                    "validationSensitivity": round(se, 4), "validationSpecificity": round(sp, 4),
                    "_testSensitivity": tse, "_testSpecificity": tsp})
    thr = ops[0]["threshold"]
    auc_ci, se_ci, sp_ci = bootstrap(yt, s_test, thr, a.seed)
    t_auc = auc(yt, s_test)
    t_se, t_sp = sens_spec(yt, s_test, thr)
    v_auc = auc(yv, s_val)
    log(f"validation AUC {v_auc:.4f}; test AUC {t_auc:.4f} [{auc_ci[0]:.4f}, {auc_ci[1]:.4f}], at sens90 "
        f"threshold {thr:.4f}: sensitivity {t_se:.3f} {se_ci}, specificity {t_sp:.3f} {sp_ci}", fh)

    # ---- robustness on test: device changes applied to raw pixels before preprocessing
    rob = []
    for name, fn in augment.PERTURBATIONS:
        xs = preprocess_all([fn(raw[i].astype(np.float64), a.seed + int(i)) for i in te])
        s = predict(final, xs)
        r_auc = auc(yt, s)
        se, sp = sens_spec(yt, s, thr)
        rob.append({"change": name, "auc": r_auc, "delta_auc": r_auc - t_auc,
                    "mean_abs_delta_score": float(np.abs(s - s_test).mean()),
                    "sensitivity": se, "specificity": sp})
        log(f"robustness {name:38s} AUC {r_auc:.4f} ({r_auc - t_auc:+.4f})  |dscore| "
            f"{rob[-1]['mean_abs_delta_score']:.4f}  sens {se:.3f}  spec {sp:.3f}", fh)
    with open(out / "robustness.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["change", "auc", "delta_auc", "mean_abs_delta_score", "sensitivity", "specificity"])
        for r in rob:
            w.writerow([r["change"], f"{r['auc']:.4f}", f"{r['delta_auc']:+.4f}",
                        f"{r['mean_abs_delta_score']:.4f}", f"{r['sensitivity']:.4f}", f"{r['specificity']:.4f}"])

    with open(out / "training-log.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(history[0]), lineterminator="\n")
        w.writeheader()
        for h in history:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in h.items()})

    # ---- model.json
    r4 = lambda v: round(float(v), 4)
    manifest = {
        "schema": "edge.model-bundle/1",
        "name": "tb-cxr",
        "version": "1.0.0",
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "file": "model.onnx",
        "sha256": sign_bundle.sha256_file(onnx_path),
        "opset": opset,
        "parameters": params,
        "flops": flops,
        "input": {"name": "image", "layout": "NCHW", "dtype": "float32", "shape": [-1, 1, 128, 128]},
        "preprocessing": preprocess.PREPROCESSING,
        "outputs": {
            "score": {"name": "score", "shape": [-1, 1], "meaning": "TB probability 0..1"},
            "heatmap": {"name": "heatmap", "shape": heat_shape,
                        "meaning": "non-negative class-activation map, row-major, top-left first"},
        },
        "threshold": thr,
        "operatingPoints": [{k: v for k, v in o.items() if not k.startswith("_")} for o in ops],
        "metrics": {
            "test": {"n": int(len(te)), "positives": int(yt.sum()),
                     "auc": {"value": r4(t_auc), "ci95": [r4(c) for c in auc_ci]},
                     "sensitivity": {"value": r4(t_se), "ci95": [r4(c) for c in se_ci]},
                     "specificity": {"value": r4(t_sp), "ci95": [r4(c) for c in sp_ci]},
                     "operatingPoint": "sens90", "bootstrap": {"resamples": N_BOOT, "seed": a.seed}},
            "validation": {"n": int(len(va)), "positives": int(yv.sum()), "auc": {"value": r4(v_auc)}},
        },
        "training": {"data": "Shenzhen CXR (NLM), 128x128 8-bit PNG, " + DATA_REL, "seed": a.seed,
                     "epochs": epochs, "selectedEpochs": [members[k][1] for k in chosen],
                     "ensembleMembers": len(chosen), "split": "split.csv", "command": COMMAND,
                     "quick": bool(a.quick), "wallTimeSeconds": None},
        "flopsDefinition": "per image, multiply-add = 2 FLOPs, counted on the ONNX graph",
        "parity": {k: float(f"{v:.3g}") for k, v in parity.items()},
        "intendedUse": "Triage aid for pulmonary TB on frontal chest radiographs of adults (15+). Not a diagnosis.",
    }
    wall = time.time() - t0
    manifest["training"]["wallTimeSeconds"] = round(wall)
    with open(out / "model.json", "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")

    import card
    card.write(out / "MODEL_CARD.md", manifest, ops, rob, members, chosen, val_single, val_full, train_time, wall,
               history,
               size, split_counts={s: (int((split == s).sum()), int(y[split == s].sum())) for s in
                                   ("train", "validation", "test")})

    sign_bundle.sign(str(a.signing_key), str(out))
    if a.signing_key.resolve() == DEFAULT_KEY.resolve():
        problems = sign_bundle.verify(str(DEFAULT_PUB), str(out))
        assert not problems, problems
        log("signed with the DEVELOPMENT key and verified", fh)
    log(f"done in {wall / 60:.1f} min -> {shown(out)}", fh)
    fh.close()


if __name__ == "__main__":
    main()
