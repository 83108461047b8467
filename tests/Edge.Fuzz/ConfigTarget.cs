using Edge.Appliance;

namespace Edge.Fuzz;

/// <summary>
/// bytes written as the configuration file -> <see cref="EdgeOptions.Load"/> (JSON, binding, validation). Only
/// <see cref="ConfigurationException"/> may come out: a technician's typo must end in a message naming the key, never
/// in a stack trace or a half-configured appliance.
/// </summary>
internal sealed class ConfigTarget : FuzzTarget
{
    // Under /dev/shm where there is one: the file is rewritten for every input.
    private readonly string _path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"edge-fuzz-config-{Environment.ProcessId}.json");

    public override void Run(byte[] input)
    {
        File.WriteAllBytes(_path, input);
        try
        {
            var options = EdgeOptions.Load(_path);

            // What loaded must be what validation accepts: Load may not hand back options with problems.
            if (options.Validate() is { Count: > 0 } problems)
            {
                throw new InvalidOperationException("Load returned options that do not validate: " + string.Join("; ", problems));
            }
        }
        catch (ConfigurationException)
        {
        }
    }

    public override void Dispose() => File.Delete(_path);
}
