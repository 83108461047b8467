using Edge.Domain;

namespace Edge.Hardware;

/// <summary>The slip printer's simulator: each slip becomes a text file, exactly the lines the thermal printer would print.</summary>
public sealed class FileSlipPrinter : ISlipPrinter
{
    private readonly string _directory;

    public FileSlipPrinter(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    public async ValueTask PrintAsync(Slip slip, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_directory, slip.ResultId + ".txt");
        await File.WriteAllLinesAsync(path, slip.Lines, cancellationToken).ConfigureAwait(false);
    }
}
