using System.Globalization;

namespace Edge.TestSupport;

/// <summary>
/// A throwaway PostgreSQL server: initdb into a temporary folder, listening on 127.0.0.1 at a free port with its unix
/// socket in the same folder, stopped and removed at the end. As root, it runs as the <c>postgres</c> user (PostgreSQL
/// refuses to run as root). Debian's <c>postgresql</c> package provides the binaries.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly TempDirectory _temp;
    private readonly string _bin;
    private ChildProcess? _process;

    private PostgresServer(string bin)
    {
        _bin = bin;
        _temp = new TempDirectory("edge-postgres");
        Port = Ports.Free();
    }

    public int Port { get; }

    public string DataDirectory => _temp.Combine("data");

    public string ConnectionString(string database = "postgres") => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=30;Command Timeout=60";

    /// <summary>The newest installed server's bin folder (/usr/lib/postgresql/N/bin), or null when none is installed.</summary>
    public static string? BinDirectory =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.EnumerateDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "postgres")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;

    public static string MissingMessage => "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (Debian package 'postgresql', in ./edge TEST_PACKAGES).";

    private static bool IsRoot => Environment.UserName == "root";

    /// <param name="durable">fsync on, as in production (benchmarks); off for tests, where a crash of the machine does not matter.</param>
    public static async Task<PostgresServer> StartAsync(bool durable = false)
    {
        var bin = BinDirectory ?? throw new InvalidOperationException(MissingMessage);
        var server = new PostgresServer(bin);
        try
        {
            if (IsRoot)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", server._temp.Path]).ConfigureAwait(false);
            }

            await RunAsync(server.Tool("initdb"), ["-D", server.DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"], asPostgres: true).ConfigureAwait(false);
            var port = server.Port.ToString(CultureInfo.InvariantCulture);
            string[] arguments = ["-D", server.DataDirectory, "-p", port, "-k", server._temp.Path, "-c", "listen_addresses=127.0.0.1", "-c", $"fsync={(durable ? "on" : "off")}", "-c", "max_connections=50"];
            server._process = IsRoot ? ChildProcess.Start("runuser", ["-u", "postgres", "--", server.Tool("postgres"), .. arguments]) : ChildProcess.Start(server.Tool("postgres"), arguments);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                var ready = await ChildProcess.RunAsync(server.Tool("pg_isready"), ["-h", "127.0.0.1", "-p", port, "-U", "postgres", "-q"], TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                if (ready.ExitCode == 0)
                {
                    return server;
                }

                if (deadline.IsCancellationRequested)
                {
                    throw new TimeoutException("PostgreSQL did not start: " + server._process.Stderr);
                }

                await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A new, empty database, so tests sharing one server do not see each other's rows.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await RunAsync(Tool("psql"), ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", $"CREATE DATABASE \"{name}\""]).ConfigureAwait(false);
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                // A fast shutdown, so no backend or shared memory outlives the test.
                await RunAsync(Tool("pg_ctl"), ["-D", DataDirectory, "stop", "-m", "fast", "-w", "-t", "30"], asPostgres: true).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                // Killed below.
            }

            await process.DisposeAsync().ConfigureAwait(false);
            _process = null;
        }

        _temp.Dispose();
    }

    private string Tool(string name) => Path.Combine(_bin, name);

    private static async Task RunAsync(string program, string[] arguments, bool asPostgres = false)
    {
        var result = asPostgres && IsRoot
            ? await ChildProcess.RunAsync("runuser", ["-u", "postgres", "--", program, .. arguments], TimeSpan.FromMinutes(2), workingDirectory: "/").ConfigureAwait(false)
            : await ChildProcess.RunAsync(program, arguments, TimeSpan.FromMinutes(2), workingDirectory: "/").ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} failed ({result.ExitCode}): {result.Stderr}{result.Stdout}");
        }
    }
}
