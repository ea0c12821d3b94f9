using System.CommandLine;
using System.Globalization;
using Tbar.Pipelines;
using Tbar.Arithmetic;
using Tbar.Models;

namespace Tbar.Cli;

/// <summary><c>tbar vector apply|compose</c>: use saved task vectors (θ + α·τ; Σ cᵢ·τᵢ).</summary>
static class VectorCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Option<string>("--model") { Description = "Model folder or .safetensors file", Required = true };
        var tau = new Option<string>("--tau") { Description = "Task vector (.safetensors written by tbar)", Required = true };
        var alpha = new Option<double>("--alpha") { Description = "Scale: θ + α·τ (TBAR removes with a negative α)", Required = true };
        var output = new Option<string>("--out") { Description = "Output model folder", Required = true };
        var apply = new Command("apply", "Write θ + α·τ in the model's own layout.") { model, tau, alpha, output };
        apply.SetAction(r => Apply(ModelFlag.Resolve(r.GetValue(model)!, stdout), r.GetValue(tau)!, r.GetValue(alpha), r.GetValue(output)!, stdout));

        var terms = new Option<string[]>("--term") { Description = "COEF:FILE, repeatable (e.g. 1:tau_a.safetensors -0.5:tau_b.safetensors)", Required = true };
        var composed = new Option<string>("--out") { Description = "Output .safetensors", Required = true };
        var compose = new Command("compose", "Write Σ coefᵢ·τᵢ as a new task vector.") { terms, composed };
        compose.SetAction(r => Compose(r.GetValue(terms)!, r.GetValue(composed)!, stdout));
        return new Command("vector", "Apply or compose saved task vectors.") { apply, compose };
    }

    static int Apply(string modelPath, string tauPath, double alpha, string outDir, TextWriter stdout)
    {
        using var clip = Workbench.LoadModel(modelPath);
        using var tau = TaskVector.Load(tauPath);
        using var edit = new WeightEdit(clip, tau);
        edit.Set(alpha);
        ClipCheckpoint.Save(clip, outDir);
        stdout.WriteLine($"wrote {outDir}: θ + {alpha.ToString(CultureInfo.InvariantCulture)}·τ ({tau.Keys.Count()} tensors, ‖τ‖ = {tau.Norm():G4})");
        return 0;
    }

    static int Compose(string[] terms, string outPath, TextWriter stdout)
    {
        TaskVector? sum = null;
        foreach (var term in terms)
        {
            int colon = term.IndexOf(':');
            if (colon <= 0 || !double.TryParse(term[..colon], NumberStyles.Float, CultureInfo.InvariantCulture, out double coef))
                throw new TbarException($"--term '{term}': expected COEF:FILE");
            using var tau = TaskVector.Load(term[(colon + 1)..]);
            var scaled = tau * coef;
            var next = sum == null ? scaled : sum + scaled;
            if (sum != null) { sum.Dispose(); scaled.Dispose(); }
            sum = next;
        }
        using var result = sum!;
        result.Save(outPath);
        stdout.WriteLine($"wrote {outPath} ({terms.Length} terms, ‖Σ‖ = {result.Norm():G4})");
        return 0;
    }
}
