# Adds MemoryProbe.Mark calls at the phase boundaries of `tbar unlearn` (run by probe.sh in a scratch tree).
def edit(path, old, new):
    s = open(path).read()
    if old not in s:
        raise SystemExit(f"marks.py: {path} no longer holds: {old[:60]!r}")
    open(path, 'w').write(s.replace(old, new, 1))
M = lambda l: f'MemoryProbe.Mark("{l}");'
p='src/Tbar.Cli/UnlearnCommand.cs'
edit(p, "        using var bench = Workbench.Open(", f"        {M('start')}\n        using var bench = Workbench.Open(")
edit(p, "        var (clip, head, data) = (bench.Model, bench.Head, bench.Data);\n",
     f"        var (clip, head, data) = (bench.Model, bench.Head, bench.Data);\n        {M('model, data and head loaded')}\n")
edit(p, "        var settings = new", f"        {M('method done')}\n        var settings = new")
edit(p, "        stdout.WriteLine($\"{record.Method}: {record.Choice}\");",
     f"        {M('report written')}\n        stdout.WriteLine($\"{{record.Method}}: {{record.Choice}}\");")
p='src/Tbar/Unlearning/FineTuneVectors.cs'
edit(p, "        using var before = SpilledTensors.Write(", f"        {M('tau: start')}\n        using var before = SpilledTensors.Write(")
edit(p, "        train();\n", f"        train();\n        {M('tau: trained')}\n")
p='src/Tbar/Unlearning/Negation.cs'
edit(p, "        using var edit = new WeightEdit(model, vectors);\n", f"        {M('alpha: start')}\n        using var edit = new WeightEdit(model, vectors);\n        {M('alpha: edit made')}\n")
edit(p, "            atAlpha?.Invoke(alpha);\n", "            atAlpha?.Invoke(alpha);\n            MemoryProbe.Mark($\"alpha: set {alpha}\");\n")
edit(p, "        edit.Restore();\n        return choice;", f"        edit.Restore();\n        {M('alpha: chosen')}\n        return choice;")
p='src/Tbar/Training/TrainLoop.cs'
edit(p, "        using var optimizer = AdamOptimizer.W(", f"        {M('train: start')}\n        using var optimizer = AdamOptimizer.W(")
edit(p, "        var rng = new Random(", f"        {M('train: optimizer made')}\n        var rng = new Random(")
edit(p, "        double result = gradients();\n", f"        double result = gradients();\n        {M('step: gradients')}\n")
edit(p, "        optimizer.Step();\n", f"        {M('step: clipped')}\n        optimizer.Step();\n        {M('step: stepped')}\n")
edit(p, "        return new TrainResult(step, seen", f"        {M('train: loop done')}\n        return new TrainResult(step, seen")
p='src/Tbar/Reporting/UnlearnReport.cs'
edit(p, "            ClipCheckpoint.WriteInto(cleaned, stage);\n", f"            {M('report: start')}\n            ClipCheckpoint.WriteInto(cleaned, stage);\n            {M('report: model written')}\n")
