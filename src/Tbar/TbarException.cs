namespace Tbar;

/// <summary>
/// The one user-facing error: bad input, a malformed file, an impossible request. The message names the
/// file or key at fault; the CLI prints it to stderr and exits non-zero.
/// </summary>
public sealed class TbarException : Exception
{
    public TbarException(string message) : base(message) { }
    public TbarException(string message, Exception inner) : base(message, inner) { }
}
