using Edge.Appliance;

return await Cli.RunAsync(args).ConfigureAwait(false);
