using System.Net;
using Edge.Dicom.Network;

namespace Edge.Dicom.Tests.Network;

/// <summary>Association negotiation against DCMTK's echoscu: who may associate, and what happens when we are full.</summary>
public class DicomScpAssociationTests
{
    [Fact]
    public async Task Echo_CalledAeMatches_Succeeds()
    {
        await using var scp = await ScpHarness.StartAsync();

        var echo = await scp.EchoAsync();

        Assert.True(echo.ExitCode == 0, echo.Stdout + echo.Stderr);
        Assert.Equal(AssociationEnd.Released, await scp.NextEndAsync());
        Assert.True(scp.Log.Contains("Association from CONSOLE at 127.0.0.1 accepted"));
    }

    [Fact]
    public async Task Echo_WrongCalledAe_RejectedAsCalledAeNotRecognised()
    {
        await using var scp = await ScpHarness.StartAsync();

        var echo = await scp.EchoAsync(calledAe: "PACS");

        Assert.NotEqual(0, echo.ExitCode);
        Assert.Contains("Called AE Title Not Recognized", echo.Stdout + echo.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(AssociationEnd.Rejected, await scp.NextEndAsync());
    }

    [Fact]
    public async Task Echo_CallingAeNotInAllowlist_Rejected()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.AllowedCallingAeTitles = ["XRAY1"]);

        var echo = await scp.EchoAsync(callingAe: "INTRUDER");

        Assert.NotEqual(0, echo.ExitCode);
        Assert.Contains("Calling AE Title Not Recognized", echo.Stdout + echo.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(AssociationEnd.Rejected, await scp.NextEndAsync());
    }

    [Fact]
    public async Task Echo_CallingAeInAllowlist_Succeeds()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.AllowedCallingAeTitles = ["XRAY1", ScpHarness.CallingAe]);

        var echo = await scp.EchoAsync();

        Assert.True(echo.ExitCode == 0, echo.Stdout + echo.Stderr);
    }

    [Fact]
    public async Task Echo_AddressNotInAllowlist_Rejected()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.AllowedAddresses = [IPAddress.Parse("10.1.2.3")]);

        var echo = await scp.EchoAsync();

        Assert.NotEqual(0, echo.ExitCode);
        Assert.Equal(AssociationEnd.Rejected, await scp.NextEndAsync());
    }

    [Fact]
    public async Task Echo_AllSlotsBusy_RejectedAsTemporaryCongestionThenServedWhenFree()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.MaxAssociations = 1);
        await using (var holder = await RawPeer.AssociateAsync(scp.Port))
        {
            var echo = await scp.EchoAsync();

            Assert.NotEqual(0, echo.ExitCode);
            Assert.Contains("Temporary Congestion", echo.Stdout + echo.Stderr, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(AssociationEnd.Rejected, await scp.NextEndAsync());
            await holder.ReleaseAsync();
        }

        Assert.Equal(AssociationEnd.Released, await scp.NextEndAsync());
        var after = await scp.EchoAsync();
        Assert.True(after.ExitCode == 0, after.Stdout + after.Stderr);
    }

    [Fact]
    public async Task StopAsync_AssociationOutlastsStopTimeout_AbortedAndListenerClosed()
    {
        await using var scp = await ScpHarness.StartAsync(o => o.StopTimeout = TimeSpan.FromMilliseconds(200));
        var port = scp.Port;
        await using var peer = await RawPeer.AssociateAsync(port);

        await scp.Scp.StopAsync(CancellationToken.None);

        Assert.Equal([Edge.Dicom.Network.PduType.Abort], await peer.ReadUntilClosedAsync());
        Assert.Equal(AssociationEnd.AbortedByUs, await scp.NextEndAsync());
        var echo = await scp.EchoAsync();
        Assert.NotEqual(0, echo.ExitCode);
    }
}
