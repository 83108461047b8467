using System.Net;
using System.Net.Sockets;
using Edge.Dicom.Network;
using Edge.Dicom.Tests.Network;
using Edge.Domain;
using Edge.Imaging;
using Edge.TestSupport;

namespace Edge.Dicom.Tests.Fuzz;

/// <summary>
/// The short bounded fuzzing run of the suite: every seed under tests/Edge.Fuzz/Corpus/TARGET and every saved finding
/// under tests/Edge.Fuzz/Regressions/TARGET goes through the entry point its harness drives (tests/Edge.Fuzz), and
/// only the boundary's own exception may come out. The long coverage-guided runs are `./edge fuzz`.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string> PduInputs => Inputs("pdu");

    public static TheoryData<string> DataSetInputs => Inputs("dataset");

    public static TheoryData<string> PngInputs => Inputs("png");

    public static TheoryData<string> IntakeInputs => Inputs("intake");

    [Theory]
    [MemberData(nameof(PduInputs))]
    public async Task Scp_FuzzInput_EndsAssociationWithoutUnexpectedError(string input)
    {
        await using var scp = await ScpHarness.StartAsync(o => o.MaxObjectSize = 1024 * 1024);
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(IPAddress.Loopback, scp.Port);
            try
            {
                await client.SendAsync(await File.ReadAllBytesAsync(Path.Combine(Repo.Root, input)));
                client.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // The SCP may abort and close before it has read everything a hostile peer sends.
            }

            var sink = new byte[64 * 1024];
            try
            {
                while (await client.ReceiveAsync(sink) > 0)
                {
                }
            }
            catch (SocketException)
            {
            }
        }

        await scp.NextEndAsync();
        Assert.Empty(scp.Log.Errors);
        Assert.Empty(scp.TemporaryFiles());
    }

    [Theory]
    [MemberData(nameof(DataSetInputs))]
    public void DataSetWalker_FuzzInput_ReportsInsteadOfThrowing(string input)
    {
        // Byte 0 as in the harness: bit 0 explicit VR, bit 1 a whole Part-10 file whose meta header is read first.
        var bytes = File.ReadAllBytes(Path.Combine(Repo.Root, input));
        if (bytes.Length == 0)
        {
            return;
        }

        using var stream = new MemoryStream(bytes, 1, bytes.Length - 1, writable: false);
        if ((bytes[0] & 2) != 0)
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

        DataSetWalker.Check(stream, explicitVr: (bytes[0] & 1) != 0);
    }

    [Theory]
    [MemberData(nameof(PngInputs))]
    public void PngDecoder_FuzzInput_DecodesOrThrowsImageReadException(string input)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Repo.Root, input));
        try
        {
            PngDecoder.Decode(bytes);
        }
        catch (ImageReadException)
        {
        }
    }

    [Theory]
    [MemberData(nameof(IntakeInputs))]
    public async Task ImageFileReader_FuzzInput_ReadsOrThrowsImageReadException(string input)
    {
        using var temp = new TempDirectory("edge-fuzz-intake");

        // Copied under a neutral name: the reader sniffs the bytes and must not trust the extension.
        var path = temp.Combine("input.bin");
        File.Copy(Path.Combine(Repo.Root, input), path);
        try
        {
            await new ImageFileReader().ReadAsync(path, CancellationToken.None);
        }
        catch (ImageReadException)
        {
        }
    }

    /// <summary>Repository-relative paths, so a failing case names its file.</summary>
    private static TheoryData<string> Inputs(string target)
    {
        var data = new TheoryData<string>();
        foreach (var folder in new[] { "Corpus", "Regressions" })
        {
            var directory = Path.Combine(Repo.Root, "tests", "Edge.Fuzz", folder, target);
            if (!Directory.Exists(directory))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(directory).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal))
            {
                data.Add(Path.GetRelativePath(Repo.Root, file));
            }
        }

        return data;
    }
}
