using System.CommandLine;
using Tbar.Unlearning;

namespace Tbar.Cli;

/// <summary>The flags every cleaning command shares: an options file, then flags that override it.</summary>
static class MethodFlags
{
    public static (Option<string?> File, Option<double?> CaFloor) Create() =>
        (new Option<string?>("--options") { Description = "JSON file of method options (any subset of the keys a report's method_options shows)" },
         new Option<double?>("--ca-floor")
         {
             Description = "CA floor of the α rule and the baselines' choice, as a share of the backdoored validation CA (default 0.9)",
         });

    /// <summary>Defaults (<paramref name="defaults"/>, else <see cref="MethodOptions.Default"/>), then the file, then the flags.</summary>
    public static MethodOptions Resolve(string? file, double? caFloor, MethodOptions? defaults = null)
    {
        defaults ??= MethodOptions.Default;
        var options = file == null ? defaults : MethodOptions.Load(file, defaults);
        if (caFloor is double floor)
        {
            if (floor is < 0 or > 1) throw new TbarException($"--ca-floor must be in [0, 1] (got {floor})");
            options = options.WithRule(r => r with { CaFloor = floor });
        }
        return options;
    }
}
