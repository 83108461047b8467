using Edge.Fuzz;
using SharpFuzz;

// edge-fuzz TARGET              AFL++ persistent mode (run-fuzz.sh starts it under afl-fuzz)
// edge-fuzz TARGET FILE|DIR...  replay inputs once each, outside AFL (reproducing a crash, checking a corpus)
// edge-fuzz seeds DIR           write the generated seeds (PDU streams, data sets) under DIR/<target>/
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Edge.Fuzz pdu|dataset|png|intake|config [FILE|DIR...] | seeds DIR");
    return 2;
}

if (args[0] == "seeds")
{
    Seeds.Write(args[1]);
    return 0;
}

if (args.Length == 1)
{
    // Persistent mode: one process serves many inputs. An exception escaping the action is the crash AFL records.
    // The target is made inside the first run: instrumented code writes to AFL's shared map, which exists only from then on.
    FuzzTarget? fuzzed = null;
    void RunOne(Stream stream)
    {
        fuzzed ??= FuzzTarget.Create(args[0]);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        fuzzed.Run(buffer.ToArray());
    }

    // The intake target reaches native decoders (GDCM, libjpeg-turbo): a fault there kills the process, and in-process
    // the process is AFL's fork server, so the whole campaign died with it. Out of process, SharpFuzz runs the inputs in
    // a child it restarts, and a dead child is reported to AFL as a crash with the input that caused it.
    if (args[0] == "intake")
    {
        Fuzzer.OutOfProcess.Run(RunOne);
    }
    else
    {
        Fuzzer.Run(RunOne);
    }

    fuzzed?.Dispose();
    return 0;
}

// Replay runs the uninstrumented build (out/fuzz/build): instrumented code needs AFL's shared map.
using var target = FuzzTarget.Create(args[0]);

var files = args.Skip(1).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal).ToList();
foreach (var file in files)
{
    target.Run(File.ReadAllBytes(file));
}

Console.WriteLine($"{args[0]}: {files.Count} inputs replayed, no unexpected exception");
return 0;
