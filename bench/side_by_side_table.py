"""Gathers bench/side-by-side.sh's runs into one JSON, a markdown table, and bench/README.md's speed table.

Each run is a JSON line {round, load, cpu, run: {side, model, kind, ...}}; a case's number per side is the median over
rounds of each run's median, in images/s (GFLOP/s for the matmul). ratio = Tbar / PyTorch. Cases are kept per CPU: the
table has one block of rows per machine, and a line per machine naming its CPU, Tbar's BLAS path and vendor fix.
"""
import argparse
import json
import platform
import statistics
import subprocess

LABELS = {
    ("matmul", "matmul"): "2048² matmul (GFLOP/s)",
    ("mini-clip", "forward"): "mini-CLIP image tower, forward, batch {batch}",
    ("mini-clip", "train"): "mini-CLIP image tower, train step (AdamW), batch {batch}",
    ("mini-clip", "eval"): "mini-CLIP evaluation (uint8 → prediction), batch {batch}",
    ("vit-b-32", "forward"): "ViT-B/32 image tower, forward, batch {batch}, 224 px",
    ("vit-b-32", "train"): "ViT-B/32 image tower, train step (AdamW), batch {batch}",
    ("vit-b-32", "eval"): "ViT-B/32 evaluation (uint8 → prediction), batch {batch}",
    ("rn18-clip", "forward"): "rn18-clip image tower, forward, batch {batch}, 64 px",
    ("rn18-clip", "train"): "rn18-clip image tower, train step (AdamW), batch {batch}",
    ("rn18-clip", "eval"): "rn18-clip evaluation (28 px uint8 → 64 px → prediction), batch {batch}",
}
BEGIN, END = "<!-- speed-table:begin -->", "<!-- speed-table:end -->"


def rate(run):
    return run["gflops"] if run["kind"] == "matmul" else run["images_per_second"]


# Runs taken before the script recorded the CPU (the first table, on an Intel machine by issue 27's account).
UNRECORDED = {"vendor": "", "model": "CPU not recorded", "isa": []}


def cpu_name(cpu):
    return cpu["model"] or cpu["vendor"] or "unknown CPU"


def gather(lines):
    cases = {}
    for line in lines:
        run, cpu = line["run"], line.get("cpu", UNRECORDED)
        key = (cpu_name(cpu), run["model"], run["kind"])
        case = cases.setdefault(key, {"cpu": cpu, "model": run["model"], "kind": run["kind"], "batch": run.get("batch"),
                                      "pytorch": [], "tbar": [], "loads": [], "tbar_machine": None})
        case[run["side"]].append(rate(run))
        case["loads"].append(line["load"])
        if run["side"] == "tbar" and "machine" in run:
            case["tbar_machine"] = run["machine"]
    for case in cases.values():
        case["pytorch_median"] = statistics.median(case["pytorch"])
        case["tbar_median"] = statistics.median(case["tbar"])
        case["ratio"] = case["tbar_median"] / case["pytorch_median"]
    return list(cases.values())


def machine_note(name, cases):
    cpu = cases[0]["cpu"]
    note = f"- **{name}**" + ("" if cpu["vendor"] else ": taken before bench/side-by-side.sh recorded the CPU")
    if cpu["vendor"]:
        note += f": {cpu['vendor']}, {', '.join(cpu['isa']) or 'no AVX2'}"
    machine = next((c["tbar_machine"] for c in cases if c["tbar_machine"]), None)
    if machine:
        note += (f"; Tbar's BLAS: {machine['blas']['library']}, mkl_serv_cpu_detect {machine['blas']['mkl_cpu_code']}; "
                 f"oneMKL vendor fix: {machine['native']['vendor_fix']}")
    return note


def table(cases, threads):
    rows = ["| CPU | case | PyTorch 1.13 | Tbar | ratio |", "|---|---|---|---|---|"]
    machines = {}
    for c in cases:
        machines.setdefault(cpu_name(c["cpu"]), []).append(c)
    for name, group in machines.items():
        for c in group:
            label = LABELS[(c["model"], c["kind"])].format(batch=c["batch"])
            unit = "GFLOP/s" if c["kind"] == "matmul" else "img/s"
            rows.append(f"| {name} | {label} | {c['pytorch_median']:,.1f} {unit} | {c['tbar_median']:,.1f} {unit} | {c['ratio']:.2f} |")
    notes = [machine_note(name, group) for name, group in machines.items()]
    return "\n".join(rows) + "\n\n" + "\n".join(notes) + "\n"


def versions(python_torch):
    dotnet = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
    return {"pytorch": python_torch, "torchsharp": "0.107.0", "libtorch": "2.10.0", "dotnet_sdk": dotnet,
            "python": platform.python_version()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--load-before", default="")
    p.add_argument("--out", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--readme")
    a = p.parse_args()
    lines = [json.loads(l) for l in open(a.runs) if l.strip()]
    cases = gather(lines)
    torch_version = next((l["run"]["torch"] for l in lines if "torch" in l["run"]), "?")
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]
    result = {"benchmark": "side-by-side", "threads": a.threads, "openblas_coretype": "SkylakeX",
              "versions": versions(torch_version), "load_average_before": a.load_before.split(),
              "load_average_after": load_after, "max_load_during": max(l["load"] for l in lines),
              "cases": cases, "runs": lines}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    md = table(cases, a.threads)
    with open(a.table, "w") as f:
        f.write(md)
    print(md)
    if a.readme:
        text = open(a.readme, encoding="utf-8").read()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            open(a.readme, "w", encoding="utf-8").write(head + BEGIN + "\n" + md + END + tail)


if __name__ == "__main__":
    main()
