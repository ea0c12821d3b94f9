using System.Runtime.CompilerServices;

namespace Tbar.Tests;

static class NativeStartupFirst
{
    // The test assembly's code runs before any test touches TorchSharp: native settings must precede libtorch's load.
    [ModuleInitializer]
    internal static void Initialize() => NativeStartup.Initialize();
}
