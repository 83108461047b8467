namespace Edge.Inference;

/// <summary>The inference boundary's single failure type: a bundle that cannot be trusted or loaded, or a run that failed.</summary>
public sealed class ModelBundleException : Exception
{
    public ModelBundleException(string message)
        : base(message)
    {
    }

    public ModelBundleException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
