using Tbar.Io;
using Tbar.Models;
using Tbar.Pipelines;

namespace Tbar.Reporting;

/// <summary>The options part of attack.json: the clean model, the data spec and the attack's options.</summary>
public sealed record AttackSettings(string Model, string Data, AttackOptions Options);

/// <summary>What `tbar attack` leaves in its folder: the backdoored model, patch.png (optimised triggers) and attack.json.</summary>
public static class AttackReport
{
    public const string FileName = "attack.json";

    /// <summary>Writes <paramref name="outDir"/> as a whole; <paramref name="inputs"/> must not be inside it.</summary>
    public static void Write(string outDir, Clip backdoored, string command, AttackSettings settings, AttackOutcome outcome, double seconds,
        params string?[] inputs) =>
        AtomicFolder.Write(outDir, FileName, stage =>
        {
            ClipCheckpoint.WriteInto(backdoored, stage);
            if (outcome.Patch is { } patch) ImageFile.SavePng(Path.Combine(stage, "patch.png"), patch);
            new RunRecord(command, settings, settings.Options.Seed, AttackRecord.From(outcome), seconds).Save(Path.Combine(stage, FileName));
        }, inputs);
}
