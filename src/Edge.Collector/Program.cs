using Edge.Collector;

return await CollectorCli.RunAsync(args).ConfigureAwait(false);
