using Edge.Domain;
using Edge.Storage;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Edge.Web.Tests;

[Collection(BrowserCollection.Name)]
public sealed class CalibrationPageTests(BrowserFixture browser)
{
    /// <summary>The fixture of Edge.Domain.Tests' CalibrationTests, worked by hand there: the threshold is 0.370 (37.0 on the page).</summary>
    private static readonly double[] PositiveScores = [.. Enumerable.Range(0, 20).Select(i => Math.Round(0.300 + (0.035 * i), 3))];
    private static readonly double[] NegativeScores = [.. Enumerable.Range(0, 25).Select(j => Math.Round(0.02 * j, 2))];

    [Fact]
    public async Task Calibration_HandWorkedFixture_ShowsExpectedThresholdAndApplyingItIsRecordedAndKept()
    {
        await using var site = await StorePage.StartAsync();
        var at = DateTimeOffset.UtcNow.AddMinutes(-60);
        var ids = new List<(string Id, bool Positive)>();
        foreach (var (score, i) in PositiveScores.Select((s, i) => (s, i)))
        {
            RecordedResults.AddScreened(site.Store, $"p{i:00}", score, at.AddSeconds(i));
            ids.Add(($"p{i:00}", true));
        }

        foreach (var (score, j) in NegativeScores.Select((s, j) => (s, j)))
        {
            RecordedResults.AddScreened(site.Store, $"n{j:00}", score, at.AddSeconds(100 + j));
            ids.Add(($"n{j:00}", false));
        }

        // All outcomes but one positive go in through the record; the last through the case's page, as a technician would.
        foreach (var (id, positive) in ids.Where(c => c.Id != "p19"))
        {
            Assert.True(site.Store.RecordOutcome(new ConfirmedOutcome(id, positive, ConfirmatoryTest.Xpert, "LAB", at), at));
        }

        var page = await browser.NewPageAsync();
        await page.GotoAsync(site.Url + "/#/calibration");
        await page.ClickAsync("#compute");
        await Expect(page.Locator("#cal-refusal")).ToContainTextAsync("19 positive and 25 negative");
        await BrowserFixture.ScreenshotAsync(page, "calibration-refused");

        await page.GotoAsync(site.Url + "/#/result/p19");
        await page.CheckAsync("#outcome-form input[value=xpert]");
        await page.SelectOptionAsync("#outcome", "positive");
        await page.FillAsync("#outcome-form input[name=initials]", "MK");
        await page.ClickAsync("#outcome-form button[type=submit]");
        await Expect(page.Locator("#detail-message")).ToHaveTextAsync("Saved");

        await page.GotoAsync(site.Url + "/#/calibration");
        await page.ClickAsync("#compute");
        await Expect(page.Locator("#cal-threshold")).ToHaveTextAsync("37.0");
        await Expect(page.Locator("#cal-cases")).ToContainTextAsync("20 positive, 25 negative");
        await Expect(page.Locator("#calibration-result")).ToContainTextAsync("90.0% [69.9% – 97.2%]");
        Assert.True(await page.Locator("#roc polyline").CountAsync() == 1);
        await page.FillAsync("#apply-form input[name=initials]", "MK");
        await page.ClickAsync("#apply");
        await Expect(page.Locator("#apply-message")).ToHaveTextAsync("Applied: in force for results from now on.");
        await BrowserFixture.ScreenshotAsync(page, "calibration");

        Assert.Equal(0.370, site.Threshold.Current!.Threshold, 9);
        Assert.Equal("MK", site.Threshold.Current.AppliedBy);
        Assert.Contains(site.Store.Audit("decision"), a => a.Action == "threshold-changed" && a.Detail.StartsWith("0.370000 from site (model tb-cxr test) set by MK on the page", StringComparison.Ordinal));
        Assert.Contains(site.Store.Audit("p19"), a => a.Action == "outcome-confirmed" && a.Detail == "xpert positive by MK");

        // A restart reads the override back from the record.
        using var reopened = ScreeningStore.Open(site.DatabasePath);
        Assert.Equal(0.370, Thresholds.Over(reopened).Current!.Threshold, 9);
        Assert.Empty(browser.PageErrors);
    }

    [Fact]
    public async Task ApplyThreshold_CasesChangedSinceComputed_Refused()
    {
        await using var site = await StorePage.StartAsync(calibration: new CalibrationSettings(MinPositives: 1, MinNegatives: 1));
        var at = DateTimeOffset.UtcNow;
        RecordedResults.AddScreened(site.Store, "a", 0.8, at);
        RecordedResults.AddScreened(site.Store, "b", 0.1, at.AddSeconds(1));
        site.Store.RecordOutcome(new ConfirmedOutcome("a", true, ConfirmatoryTest.Smear, "X", at), at);
        site.Store.RecordOutcome(new ConfirmedOutcome("b", false, ConfirmatoryTest.Smear, "X", at), at);
        using var http = new HttpClient { BaseAddress = new Uri(site.Url) };

        var stale = await http.PostAsync("/api/calibration/apply", Json("""{"threshold":0.5,"initials":"X"}"""));
        var current = await http.PostAsync("/api/calibration/apply", Json("""{"threshold":0.8,"initials":"X"}"""));

        Assert.Equal(System.Net.HttpStatusCode.Conflict, stale.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, current.StatusCode);
        Assert.Equal(0.8, site.Threshold.Current!.Threshold, 9);
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");
}
