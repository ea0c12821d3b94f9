using Tbar.Reporting;

namespace Tbar.Tests.Reporting;

public class MeanStdTests
{
    [Fact]
    public void SampleStandardDeviationAndCell()
    {
        var s = MeanStd.Of([0.80, 0.90, 1.00]);
        Assert.Equal(0.90, s.Mean, 12);
        Assert.Equal(0.10, s.Std, 12);   // √((0.01 + 0 + 0.01) / 2)
        Assert.Equal("90.0 ± 10.0", s.Cell(100, "F1"));
    }

    [Fact]
    public void OneValueHasZeroSpreadAndNoValuesAreADash()
    {
        Assert.Equal("0.50 ± 0.00", MeanStd.Of([0.5]).Cell());
        Assert.Equal("-", MeanStd.Of([]).Cell());
        Assert.True(double.IsNaN(MeanStd.Of([]).Mean));
    }
}
