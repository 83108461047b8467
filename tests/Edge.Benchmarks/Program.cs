using Edge.Benchmarks;

// The benchmark harness behind `./edge bench WHAT`: it measures and reports, it never asserts.
return args.FirstOrDefault() switch
{
    "screen" => await ScreenBenchmark.RunAsync(args),
    "dicom" => await DicomReceiveBenchmark.RunAsync(args),
    "sync" => await SyncBenchmark.RunAsync(args),
    "collector" => await CollectorBenchmark.RunAsync(args),
    "e2e" => await EndToEndBenchmark.RunAsync(args),
    "faults" => await FaultBenchmark.RunAsync(args),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: edge bench screen [--iterations N] | edge bench dicom [--iterations N] | edge bench sync [--messages N] [--images N] | edge bench collector [--results N] [--runs R] | edge bench e2e [--images N] [--long] | edge bench faults [--images N] [--kills K] [--max-delay-ms D]");
    return 2;
}
