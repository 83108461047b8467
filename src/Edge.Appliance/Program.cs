using Edge.Appliance;

NativeHeap.Tune();
return await Cli.RunAsync(args).ConfigureAwait(false);
