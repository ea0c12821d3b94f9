Console.WriteLine("usage: dotnet run -c Release --project bench/Tbar.Bench -- <benchmark> [options]");
return 0;
