namespace Tbar.Tests;

/// <summary>Base of tests that write files: a fresh temporary folder per test, deleted afterwards.</summary>
public abstract class TempFolder : IDisposable
{
    protected readonly string temp = Directory.CreateTempSubdirectory("tbar-test-").FullName;

    public void Dispose()
    {
        Directory.Delete(temp, recursive: true);
        GC.SuppressFinalize(this);
    }
}
