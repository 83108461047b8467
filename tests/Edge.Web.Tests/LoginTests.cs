using System.Net;
using static Microsoft.Playwright.Assertions;

namespace Edge.Web.Tests;

public sealed class LoginUnitTests
{
    [Fact]
    public void Verify_RightAndWrongPin_OnlyRightAccepted()
    {
        var stored = PinHash.Create("2468", iterations: 10_000);

        Assert.StartsWith("pbkdf2-sha256$10000$", stored, StringComparison.Ordinal);
        Assert.True(PinHash.Verify("2468", stored));
        Assert.False(PinHash.Verify("2469", stored));
        Assert.False(PinHash.Verify("", stored));
        Assert.False(PinHash.Verify("2468", "2468"));
    }

    [Fact]
    public void Create_SamePinTwice_DifferentSalts()
    {
        Assert.NotEqual(PinHash.Create("2468", 10_000), PinHash.Create("2468", 10_000));
    }

    [Fact]
    public void Failed_AllowedAttemptsUsed_LockedUntilLockoutPasses()
    {
        var clock = new ManualClock();
        var throttle = new LoginThrottle(3, TimeSpan.FromMinutes(5), clock);

        Assert.False(throttle.Failed("10.0.0.5"));
        Assert.False(throttle.Failed("10.0.0.5"));
        Assert.True(throttle.Failed("10.0.0.5"));
        Assert.NotNull(throttle.LockedUntil("10.0.0.5"));
        Assert.Null(throttle.LockedUntil("10.0.0.6"));

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        Assert.Null(throttle.LockedUntil("10.0.0.5"));
        Assert.False(throttle.Failed("10.0.0.5"));
    }

    [Fact]
    public void Touch_IdleLongerThanTimeout_SessionEnds()
    {
        var clock = new ManualClock();
        var sessions = new Sessions(TimeSpan.FromMinutes(30), clock);
        var token = sessions.Start();

        clock.Advance(TimeSpan.FromMinutes(29));
        Assert.True(sessions.Touch(token));
        clock.Advance(TimeSpan.FromMinutes(29));
        Assert.True(sessions.Touch(token));
        clock.Advance(TimeSpan.FromMinutes(31));
        Assert.False(sessions.Touch(token));
        Assert.False(sessions.Touch("made-up"));
    }

    [Fact]
    public void Validate_BoundBeyondLoopbackWithoutPin_Refused()
    {
        Assert.Contains(new WebPageOptions { Urls = ["http://0.0.0.0:8080"] }.Validate(), p => p.Contains("Edge:Web:PinHash", StringComparison.Ordinal));
        Assert.Empty(new WebPageOptions { Urls = ["http://127.0.0.1:8080"] }.Validate());
        Assert.Empty(new WebPageOptions { Urls = ["http://[::1]:8080"] }.Validate());
        Assert.False(new WebPageOptions { Urls = ["http://localhost:8080"] }.RequiresLogin);
        Assert.True(new WebPageOptions { Urls = ["http://192.168.1.20:8080"] }.RequiresLogin);
    }

    [Theory]
    [InlineData("MK", "MK")]
    [InlineData(" m.k ", "m.k")]
    [InlineData("王医生", "王医生")]
    [InlineData("", null)]
    [InlineData("<b>", null)]
    [InlineData("ABCDEFGHI", null)]
    public void Initials_Values_OnlyShortPlainOnesAccepted(string value, string? expected) => Assert.Equal(expected, WebPage.Initials(value));
}

[Collection(BrowserCollection.Name)]
public sealed class LoginPageTests(BrowserFixture browser)
{
    [Fact]
    public async Task Page_BoundBeyondLocalhost_AsksForPinAndSetsAStrictHttpOnlyCookie()
    {
        await using var site = await StorePage.StartAsync("http://0.0.0.0:0", PinHash.Create("2468", 10_000));
        var page = await browser.NewPageAsync();

        await page.GotoAsync(site.Url + "/");
        Assert.EndsWith("/login", page.Url, StringComparison.Ordinal);
        using (var http = new HttpClient { BaseAddress = new Uri(site.Url) })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/worklist")).StatusCode);
        }

        await page.FillAsync("#pin", "1111");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("#login-message")).ToHaveTextAsync("Wrong PIN or password.");
        await BrowserFixture.ScreenshotAsync(page, "login");

        await page.FillAsync("#pin", "2468");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("#worklist")).ToBeVisibleAsync();
        await Expect(page.Locator("#logout")).ToBeVisibleAsync();

        var cookie = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "edge-session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(Microsoft.Playwright.SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Empty(browser.PageErrors);
    }

    [Fact]
    public async Task Login_TooManyWrongPins_LockedOutEvenWithTheRightOne()
    {
        await using var site = await StorePage.StartAsync("http://0.0.0.0:0", PinHash.Create("2468", 10_000));
        using var http = new HttpClient { BaseAddress = new Uri(site.Url) };

        var answers = new List<HttpStatusCode>();
        foreach (var pin in new[] { "1", "2", "3", "4", "5", "2468" })
        {
            answers.Add((await http.PostAsync("/api/login", new StringContent($$"""{"pin":"{{pin}}"}""", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], answers);
    }

    [Fact]
    public async Task Page_Localhost_NoLogin()
    {
        await using var site = await StorePage.StartAsync();
        var page = await browser.NewPageAsync();

        await page.GotoAsync(site.Url + "/");

        await Expect(page.Locator("#worklist")).ToBeVisibleAsync();
        await Expect(page.Locator("#logout")).ToBeHiddenAsync();
    }
}
