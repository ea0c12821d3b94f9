# Adds MemoryProbe.Mark calls at the phase boundaries of `tbar unlearn` (run by probe.sh in a scratch tree).
def edit(path, old, new):
    s = open(path).read()
    if old not in s:
        raise SystemExit(f"marks.py: {path} no longer holds: {old[:60]!r}")
    open(path, 'w').write(s.replace(old, new, 1))
M = lambda l: f'MemoryProbe.Mark("{l}");'
p='src/Tbar.Cli/UnlearnCommand.cs'
edit(p, "        using var clip = ClipCheckpoint.Load(modelPath);\n", f"        {M('start')}\n        using var clip = ClipCheckpoint.Load(modelPath);\n        {M('model loaded')}\n")
edit(p, "        int targetIndex", f"        {M('data loaded')}\n        int targetIndex")
edit(p, "        var task = source.Task", f"        {M('head built')}\n        var task = source.Task")
edit(p, "        var settings = new", f"        {M('method done')}\n        var settings = new")
edit(p, "        stdout.WriteLine($\"{method}: {record.Choice}\");", f"        {M('report written')}\n        stdout.WriteLine($\"{{method}}: {{record.Choice}}\");")
p='src/Tbar/Unlearning/TbarMethod.cs'
edit(p, "        var before = VisualWeights.Snapshot(model);\n", f"        {M('tau: start')}\n        var before = VisualWeights.Snapshot(model);\n        {M('tau: before snapshot')}\n")
edit(p, "        train();\n", f"        train();\n        {M('tau: trained')}\n")
edit(p, "        using var edit = new WeightEdit(model, tau);\n", f"        {M('tau: made; alpha: start')}\n        using var edit = new WeightEdit(model, tau);\n        {M('alpha: edit made')}\n")
edit(p, "            return task.Point(model, head, alpha);\n", "            var pt = task.Point(model, head, alpha);\n            MemoryProbe.Mark($\"alpha: point {alpha}\");\n            return pt;\n")
edit(p, "        edit.Set(-choice.Alpha);\n        return choice;", f"        edit.Set(-choice.Alpha);\n        {M('alpha: chosen')}\n        return choice;")
p='src/Tbar/Training/TrainLoop.cs'
edit(p, "        using var optimizer = optim.AdamW(", f"        {M('train: start')}\n        using var optimizer = optim.AdamW(")
edit(p, "        var rng = new Random(", f"        {M('train: optimizer made')}\n        var rng = new Random(")
edit(p, "        double result = gradients();\n", f"        double result = gradients();\n        {M('step: gradients')}\n")
edit(p, "        optimizer.step();\n", f"        {M('step: clipped')}\n        optimizer.step();\n        {M('step: stepped')}\n")
edit(p, "        return new TrainResult(step, seen", f"        {M('train: loop done')}\n        return new TrainResult(step, seen")
p='src/Tbar/Reporting/UnlearnReport.cs'
edit(p, "            ClipCheckpoint.WriteInto(cleaned, stage);\n", f"            {M('report: start')}\n            ClipCheckpoint.WriteInto(cleaned, stage);\n            {M('report: model written')}\n")
