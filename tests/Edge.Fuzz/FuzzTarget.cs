using Edge.Dicom;
using Edge.Dicom.Network;
using Edge.Domain;
using Edge.Imaging;

namespace Edge.Fuzz;

/// <summary>
/// One fuzzing target: feeds bytes to a parsing entry point and lets only that boundary's own exception type pass.
/// Anything else escapes <see cref="Run"/> and is a finding (AFL++ saves the input as a crash).
/// </summary>
internal abstract class FuzzTarget : IDisposable
{
    public static FuzzTarget Create(string name) => name switch
    {
        "pdu" => new PduTarget(),
        "dataset" => new DataSetTarget(),
        "png" => new PngTarget(),
        "intake" => new IntakeTarget(),
        "config" => new ConfigTarget(),
        _ => throw new ArgumentException($"Unknown fuzz target '{name}': pdu, dataset, png, intake or config.", nameof(name)),
    };

    public abstract void Run(byte[] input);

    public virtual void Dispose()
    {
    }
}

/// <summary>bytes -> PngDecoder; only <see cref="ImageReadException"/> may come out.</summary>
internal sealed class PngTarget : FuzzTarget
{
    public override void Run(byte[] input)
    {
        try
        {
            PngDecoder.Decode(input);
        }
        catch (ImageReadException)
        {
        }
    }
}

/// <summary>
/// bytes -> the structural check the SCP runs on every received object. Byte 0 picks the encoding (bit 0: explicit
/// VR) and whether the rest is a whole Part-10 file (bit 1: meta header parsed first, as the SCU does before sending)
/// or a bare data set (as the SCP checks it after writing its own meta header).
/// </summary>
internal sealed class DataSetTarget : FuzzTarget
{
    public override void Run(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        using var stream = new MemoryStream(input, 1, input.Length - 1, writable: false);
        var explicitVr = (input[0] & 1) != 0;
        if ((input[0] & 2) != 0)
        {
            try
            {
                Part10.ReadFileMetaInformation(stream);
            }
            catch (DicomNetworkException)
            {
                return;
            }
        }

        // Check reports malformation as a string; it must never throw.
        DataSetWalker.Check(stream, explicitVr);
    }
}

/// <summary>bytes written to a temporary file -> ImageFileReader (sniff, then GDCM, PNG or libjpeg-turbo).</summary>
internal sealed class IntakeTarget : FuzzTarget
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"edge-fuzz-intake-{Environment.ProcessId}.bin");
    private readonly ImageFileReader _reader = new();

    public override void Run(byte[] input)
    {
        File.WriteAllBytes(_path, input);
        try
        {
            _reader.ReadAsync(_path, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        catch (ImageReadException)
        {
        }
    }

    public override void Dispose() => File.Delete(_path);
}
