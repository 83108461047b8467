using System.Text;

namespace Edge.Collector.Tests;

public sealed class MessageParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    private static IncomingMessage Message(string topic, string json) => new(topic, Encoding.UTF8.GetBytes(json), Now);

    private const string Result = """
        {"id":"r-1","site":"s1","device":"d1","acquiredAt":"2026-12-02T23:59:00+02:00","screenedAt":"2026-12-02T23:59:30+02:00","status":"screened",
         "score":71.5,"decision":"refer","threshold":40,"model":{"name":"tb-cxr","version":"1.0.0","sha256":"ab"},"qc":["low-contrast"],
         "subject":{"pseudoId":"00ff","ageBand":"15-24","sex":"M"},"historical":true,"futureField":{"x":1}}
        """;

    [Fact]
    public void Parse_ResultWithUnknownFields_ReadsEveryFieldAndUtcDay()
    {
        var record = Assert.IsType<ResultRecord>(MessageParser.Parse(Message("tb/v1/s1/d1/result", Result), "tb/v1"));

        Assert.Equal(("r-1", "s1", "d1", "screened", "refer"), (record.Id, record.Site, record.Device, record.Status, record.Decision));
        Assert.Equal((71.5, 40.0), (record.Score!.Value, record.Threshold!.Value));
        Assert.Equal(("00ff", "15-24", "M", true), (record.PseudoId, record.AgeBand, record.Sex, record.Historical));
        Assert.Equal("""["low-contrast"]""", record.QcJson);
        Assert.Equal("2026-12-02", record.Day);
        Assert.Equal(("1.0.0", "ab"), (record.ModelVersion, record.ModelSha256));
    }

    [Theory]
    [InlineData("tb/v1/s2/d1/result", "site/device differ")]
    [InlineData("tb/v1/s1/d1/other", "unknown message kind")]
    [InlineData("tb/v2/s1/d1/result", "outside the root")]
    [InlineData("tb/v1/s1/result", "topic is not")]
    public void Parse_TopicDoesNotFit_UnreadableWithReason(string topic, string reason)
    {
        var unreadable = Assert.IsType<UnreadableRecord>(MessageParser.Parse(Message(topic, Result), "tb/v1"));

        Assert.Contains(reason, unreadable.Reason, StringComparison.Ordinal);
        Assert.Equal(Result, unreadable.Payload);
    }

    [Theory]
    [InlineData("""{"id":"x","screenedAt":"2026-12-01T00:00:00Z","status":"maybe"}""", "status 'maybe' unknown")]
    [InlineData("""{"id":"x","screenedAt":"2026-12-01T00:00:00Z","status":"screened","subject":{"ageBand":"20-30"}}""", "not a DHIS2 TB band")]
    [InlineData("""{"id":"x","screenedAt":"2026-12-01T00:00:00Z","status":"screened","score":140}""", "outside 0-100")]
    [InlineData("""{"screenedAt":"2026-12-01T00:00:00Z","status":"screened"}""", "id missing")]
    [InlineData("""{"id":"x","status":"screened"}""", "screenedAt missing")]
    [InlineData("""{"id":"x",""", "not valid JSON")]
    public void Parse_InvalidResult_UnreadableWithReason(string json, string reason)
    {
        var unreadable = Assert.IsType<UnreadableRecord>(MessageParser.Parse(Message("tb/v1/s1/d1/result", json), "tb/v1"));

        Assert.Contains(reason, unreadable.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BirthAndBareWill_StatusRecords()
    {
        var birth = Assert.IsType<StatusRecord>(MessageParser.Parse(Message("tb/v1/s1/d1/status", """{"state":"online","site":"s1","device":"d1","firmware":"0.3.0","modelName":"tb-cxr","modelVersion":"1.0.0","provider":"Cpu","backlog":7,"at":"2026-12-03T09:00:00Z"}"""), "tb/v1"));
        var will = Assert.IsType<StatusRecord>(MessageParser.Parse(Message("tb/v1/s1/d1/status", "offline"), "tb/v1"));

        Assert.Equal(("online", "0.3.0", 7L, "Cpu"), (birth.State, birth.Firmware, birth.Backlog!.Value, birth.Provider));
        Assert.Equal(("offline", Now), (will.State, will.At));
    }

    [Fact]
    public void Parse_DriftWithDay_KeptRawUnderItsDay()
    {
        const string drift = """{"day":"2026-12-01","scoreMean":31.2,"flags":["score-shift"]}""";

        var report = Assert.IsType<ReportRecord>(MessageParser.Parse(Message("tb/v1/s1/d1/drift", drift), "tb/v1"));

        Assert.Equal(("drift", "2026-12-01", drift), (report.Kind, report.Day, report.Json));
    }

    [Fact]
    public void Build_RepeatsWithinBatch_OneRowPerKeyNewestStatus()
    {
        var older = """{"state":"online","at":"2026-12-03T08:00:00Z","backlog":9}""";
        var newer = """{"state":"online","at":"2026-12-03T09:00:00Z","backlog":0}""";

        var batch = IngestBatch.Build([Message("tb/v1/s1/d1/result", Result), Message("tb/v1/s1/d1/result", Result), Message("tb/v1/s1/d1/status", newer), Message("tb/v1/s1/d1/status", older), Message("tb/v1/s1/d1/bogus", "{}")], "tb/v1");

        Assert.Single(batch.Results);
        Assert.Equal(0, Assert.Single(batch.Statuses).Backlog);
        Assert.Single(batch.Seen);
        Assert.Single(batch.Unreadable);
    }
}
