#!/usr/bin/env python3
# On-paper data-parallel scaling estimate: no GPU is touched, nothing is measured here.
#
# From a single-GPU training step time (forward + backward + SGD update at 128 images per GPU), the
# gradient size (parameters x 4 bytes, F32, one flat buffer), the all-reduce bus bandwidth of the
# interconnect and a per-bucket overhead, the bucket size and the share of backward that
# communication may hide behind, it estimates for world sizes 1, 2, 4, 8 (one node, 8x H100 SXM over
# NVLink 4 / NVSwitch) and 16 (two such nodes over 400 Gb/s NDR InfiniBand) the ring all-reduce time,
# the exposed (non-overlapped) part, the step time, images/s and scaling efficiency, and prints
# markdown tables.
#
# Model (see bench/results/scaling-on-paper.md for the inputs and their sources):
#   all-reduce of one bucket of b bytes on N ranks:  t(b) = latency + 2(N-1)/N * b / busBW
#   buckets: the gradient buffer cut into --bucket-mb pieces in reverse layer order; the last piece
#     (the first layers) is the remainder
#   backward takes backward_share * step; the buckets become ready as backward produces gradient bytes,
#     evenly in bytes over the last `overlap` of backward (overlap 1: over the whole backward,
#     overlap 0: all at its end); the all-reduces run one after another on one stream, each starting
#     when its bucket is ready and the previous one is done
#   exposed = (end of the last all-reduce) - (end of backward), at least 0; the optimizer step waits
#     for it; step(N) = step(1) + exposed; N = 1 has no all-reduce
#   images/s = N * batch / step(N); efficiency = step(1) / step(N)
# Not modelled: the SMs and memory bandwidth NCCL takes from the backward kernels (fold it into
# --overlap), NVLink SHARP (NVLS) or tree algorithms (NCCL may pick them; faster than the ring here),
# stragglers, data loading.
#
# Usage:
#   python3 bench/scaling_model.py --model resnet50                      # the model's assumed step time
#   python3 bench/scaling_model.py --model resnet50 --step-ms 141.7      # a measured step time instead
#   python3 bench/scaling_model.py --params 1000000 --step-ms 10 --step-scale 0.5,1,2 --bucket-mb 5,25
import argparse
import math

# Parameter counts are this engine's (`build/mixup models`, README "Model zoo"); the step times are
# ASSUMPTIONS (no GPU run of the engine exists yet), see bench/results/scaling-on-paper.md.
MODELS = {
    "preact-resnet18": {"params": 11_171_146, "step_ms": 25.0, "what": "PreAct ResNet-18, CIFAR 32x32, 10 classes"},
    "resnet50": {"params": 25_557_032, "step_ms": 128.0, "what": "ResNet-50, ImageNet 224x224, 1000 classes"},
}
MIB = 1 << 20


def float_list(text):
    return [float(v) for v in text.split(",") if v.strip()]


def int_list(text):
    return [int(v) for v in text.split(",") if v.strip()]


def buckets(grad_bytes, bucket_bytes):
    """Bucket sizes in the order they are filled (reverse layer order); the last is the remainder."""
    n = max(1, math.ceil(grad_bytes / bucket_bytes))
    return [bucket_bytes] * (n - 1) + [grad_bytes - bucket_bytes * (n - 1)]


def links(world, nics, args):
    """(interconnect label, bus bandwidth in bytes/s, per-bucket latency in s) for a world size."""
    if world <= args.gpus_per_node:
        return "NVLink 4", args.nvlink_busbw * 1e9, args.nvlink_latency_us * 1e-6
    # A ring over several nodes runs at the slower of its NVLink hops and the node's NICs together.
    busbw = min(args.nvlink_busbw, nics * args.nic_busbw)
    return f"IB NDR, {nics} NIC{'s' if nics > 1 else ''}/node", busbw * 1e9, args.ib_latency_us * 1e-6


def configurations(args):
    """(world size, NICs per node) pairs: one row per NIC count for the multi-node world sizes."""
    for world in args.worlds:
        for nics in (args.nics_per_node if world > args.gpus_per_node else [0]):
            yield world, nics


def estimate(world, nics, step_s, grad_bytes, bucket_bytes, args):
    """One row of a table: times in seconds."""
    label, busbw, latency = links(world, nics, args)
    sizes = buckets(grad_bytes, bucket_bytes)
    row = {"world": world, "link": label, "busbw": busbw, "buckets": len(sizes), "comm": 0.0, "exposed": 0.0}
    if world > 1:  # one GPU has nothing to reduce
        backward = args.backward_share * step_s
        window_start = (1.0 - args.overlap) * backward  # buckets become ready from here to the end
        done, filled = 0.0, 0
        for size in sizes:
            filled += size
            ready = window_start + args.overlap * backward * filled / grad_bytes
            t = latency + 2.0 * (world - 1) / world * size / busbw  # ring all-reduce of this bucket
            done = max(done, ready) + t  # one stream: after its bucket is ready and the previous one is done
            row["comm"] += t
        row["exposed"] = max(0.0, done - backward)
    row["step"] = step_s + row["exposed"]
    row["images_s"] = world * args.batch / row["step"]
    row["efficiency"] = step_s / row["step"]
    return row


def ms(seconds):
    return f"{seconds * 1e3:.2f}"


def full_table(step_s, grad_bytes, bucket_bytes, args):
    lines = ["| GPUs | interconnect | bus BW (GB/s) | buckets | all-reduce, sum (ms) | hidden (ms) | exposed (ms) "
             "| step (ms) | images/s | efficiency |", "|---|---|---|---|---|---|---|---|---|---|"]
    for world, nics in configurations(args):
        r = estimate(world, nics, step_s, grad_bytes, bucket_bytes, args)
        if world == 1:
            cells = ["—"] * 6
        else:
            cells = [r["link"], f"{r['busbw'] / 1e9:.0f}", str(r["buckets"]), ms(r["comm"]),
                     ms(max(0.0, r["comm"] - r["exposed"])), ms(r["exposed"])]
        lines.append(f"| {world} | " + " | ".join(cells) +
                     f" | {r['step'] * 1e3:.1f} | {r['images_s']:,.0f} | {r['efficiency'] * 100:.1f} % |")
    return "\n".join(lines)


def sensitivity_table(step_ms, grad_bytes, bucket_bytes, args):
    head = "| GPUs | interconnect | " + " | ".join(
        f"{s:g}x = {step_ms * s:g} ms: exposed (ms) / images/s / efficiency" for s in args.step_scale) + " |"
    lines = [head, "|---|---|" + "---|" * len(args.step_scale)]
    for world, nics in configurations(args):
        cells = []
        for scale in args.step_scale:
            r = estimate(world, nics, step_ms * scale / 1e3, grad_bytes, bucket_bytes, args)
            cells.append(f"{ms(r['exposed'])} / {r['images_s']:,.0f} / {r['efficiency'] * 100:.1f} %")
        link = links(world, nics, args)[0] if world > 1 else "—"
        lines.append(f"| {world} | {link} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bucket_table(step_s, grad_bytes, args):
    worlds = [(w, n) for w, n in configurations(args) if w > 1]
    head = "| bucket (MiB) | buckets | " + " | ".join(
        f"{w} GPUs, {links(w, n, args)[0]}: sum / exposed (ms) / efficiency" for w, n in worlds) + " |"
    lines = [head, "|---|---|" + "---|" * len(worlds)]
    for bucket_mb in args.bucket_mb:
        bucket_bytes = int(bucket_mb * MIB)
        cells = []
        for world, nics in worlds:
            r = estimate(world, nics, step_s, grad_bytes, bucket_bytes, args)
            cells.append(f"{ms(r['comm'])} / {ms(r['exposed'])} / {r['efficiency'] * 100:.1f} %")
        lines.append(f"| {bucket_mb:g} | {len(buckets(grad_bytes, bucket_bytes))} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description="On-paper data-parallel scaling estimate: ring all-reduce of F32 "
                                "gradients in buckets, overlapped with backward; prints markdown tables.")
    p.add_argument("--model", choices=sorted(MODELS), help="preset: parameter count and assumed step time")
    p.add_argument("--params", type=int, help="parameter count (overrides the preset)")
    p.add_argument("--step-ms", type=float, help="single-GPU step time at --batch images, ms (overrides the "
                   "preset's assumption; put the GPU measurement here)")
    p.add_argument("--step-scale", type=float_list, default=[1.0],
                   help="comma list of factors on the step time: more than one adds a sensitivity table (default 1)")
    p.add_argument("--batch", type=int, default=128, help="images per GPU per step (default 128, the paper's)")
    p.add_argument("--bytes-per-param", type=int, default=4, help="gradient element size (default 4, F32)")
    p.add_argument("--bucket-mb", type=float_list, default=[25.0],
                   help="bucket size in MiB (default 25); a comma list adds a table over the sizes, the first "
                   "one is used for the other tables")
    p.add_argument("--backward-share", type=float, default=2.0 / 3.0,
                   help="backward's share of the step time (default 2/3: backward ~2x forward work)")
    p.add_argument("--overlap", type=float, default=0.8,
                   help="share of backward over which buckets become ready and can be all-reduced "
                   "alongside compute (default 0.8)")
    p.add_argument("--worlds", type=int_list, default=[1, 2, 4, 8, 16], help="world sizes (default 1,2,4,8,16)")
    p.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per node (default 8)")
    p.add_argument("--nvlink-busbw", type=float, default=370.0,
                   help="all-reduce ring bus bandwidth inside a node, GB/s (default 370: 8x H100 NVLink 4)")
    p.add_argument("--nvlink-latency-us", type=float, default=40.0,
                   help="per-bucket overhead inside a node, us (default 40)")
    p.add_argument("--nics-per-node", type=int_list, default=[8, 1],
                   help="400 Gb/s NICs per node, comma list: one row each for the multi-node world sizes "
                   "(default 8,1: one per GPU, and a single NIC per node)")
    p.add_argument("--nic-busbw", type=float, default=48.0, help="usable bandwidth of one NIC, GB/s (default 48)")
    p.add_argument("--ib-latency-us", type=float, default=120.0,
                   help="per-bucket overhead across nodes, us (default 120)")
    args = p.parse_args()

    preset = MODELS.get(args.model, {})
    params = args.params or preset.get("params")
    step_ms = args.step_ms or preset.get("step_ms")
    if not params or not step_ms:
        p.error("give --model, or --params and --step-ms")
    if not 0.0 <= args.overlap <= 1.0 or not 0.0 < args.backward_share <= 1.0:
        p.error("--overlap must be in [0, 1] and --backward-share in (0, 1]")
    grad_bytes = params * args.bytes_per_param
    source = "given with --step-ms" if args.step_ms else "the preset's ASSUMPTION, not a measurement"

    print(f"### {preset.get('what', 'model')}: {params:,} parameters, gradients {grad_bytes:,} B "
          f"({grad_bytes / MIB:.1f} MiB)\n")
    print(f"Step time at {args.batch} images/GPU on one GPU: {step_ms:g} ms ({source}); backward "
          f"{args.backward_share:.2f} of the step, overlap {args.overlap:g}; intra-node {args.nvlink_busbw:g} GB/s + "
          f"{args.nvlink_latency_us:g} us/bucket; inter-node {'/'.join(map(str, args.nics_per_node))} x {args.nic_busbw:g} GB/s NICs per node + "
          f"{args.ib_latency_us:g} us/bucket.\n")
    base = 1.0 if 1.0 in args.step_scale else args.step_scale[0]
    bucket_bytes = int(args.bucket_mb[0] * MIB)
    print(f"Step {step_ms * base:g} ms, bucket {args.bucket_mb[0]:g} MiB:\n")
    print(full_table(step_ms * base / 1e3, grad_bytes, bucket_bytes, args) + "\n")
    if len(args.step_scale) > 1:
        print(f"Sensitivity to the step time, bucket {args.bucket_mb[0]:g} MiB:\n")
        print(sensitivity_table(step_ms, grad_bytes, bucket_bytes, args) + "\n")
    if len(args.bucket_mb) > 1:
        print(f"Bucket size, step {step_ms * base:g} ms:\n")
        print(bucket_table(step_ms * base / 1e3, grad_bytes, args) + "\n")

if __name__ == "__main__":
    main()
