using System.Security.Cryptography;
using System.Text;
using Edge.TestSupport;

namespace Edge.Inference.Tests;

public sealed class BundleTests : IDisposable
{
    private readonly TempDirectory _temp = new("edge-bundle");
    private readonly ECDsa _devKey = ModelBundle.LoadPublicKey(Repo.DevPublicKey);

    [Fact]
    public void Load_CommittedBundle_VerifiesSignatureAndSha256()
    {
        var bundle = ModelBundle.Load(Repo.CurrentBundle, _devKey);

        Assert.Equal("tb-cxr", bundle.Manifest.Name);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bundle.ModelBytes)), bundle.Manifest.Sha256);
        Assert.InRange(bundle.Manifest.Threshold, 0.0, 1.0);
    }

    [Fact]
    public void Load_ModelBytesChanged_IsRefusedForSha256()
    {
        var dir = CopyBundle("1.0.0");
        var model = Path.Combine(dir, "model.onnx");
        var bytes = File.ReadAllBytes(model);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(model, bytes);

        var ex = Assert.Throws<ModelBundleException>(() => ModelBundle.Load(dir, _devKey));
        Assert.Contains("sha256", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ManifestEditedWithoutResigning_IsRefusedForSignature()
    {
        var dir = CopyBundle("1.0.0");
        var manifest = Path.Combine(dir, "model.json");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"threshold\":", "\"threshold\": 0.01, \"was\":", StringComparison.Ordinal));

        var ex = Assert.Throws<ModelBundleException>(() => ModelBundle.Load(dir, _devKey));
        Assert.Contains("signature does not verify", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ResignedWithAnotherKey_IsRefused()
    {
        var dir = CopyBundle("1.0.0");
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signature = stranger.SignData(File.ReadAllBytes(Path.Combine(dir, "model.json")), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        File.WriteAllText(Path.Combine(dir, "model.json.sig"), Convert.ToBase64String(signature));

        var ex = Assert.Throws<ModelBundleException>(() => ModelBundle.Load(dir, _devKey));
        Assert.Contains("signature does not verify", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SignatureMissing_IsRefusedAsUnsigned()
    {
        var dir = CopyBundle("1.0.0");
        File.Delete(Path.Combine(dir, "model.json.sig"));

        var ex = Assert.Throws<ModelBundleException>(() => ModelBundle.Load(dir, _devKey));
        Assert.Contains("not signed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_NewerBundleTampered_KeepsThePreviousAndReportsTheRefusal()
    {
        CopyBundle("1.0.0");
        var newer = CopyBundle("1.1.0");
        File.AppendAllText(Path.Combine(newer, "model.onnx"), "x");

        var selection = BundleCatalog.Select(_temp.Path, _devKey);

        Assert.Equal(Path.Combine(_temp.Path, "1.0.0"), selection.Bundle?.Directory);
        var refusal = Assert.Single(selection.Refused);
        Assert.Equal(newer, refusal.Directory);
    }

    [Fact]
    public void Select_NothingTrusted_ReturnsNoBundle()
    {
        var only = CopyBundle("1.0.0");
        File.WriteAllText(Path.Combine(only, "model.json.sig"), Convert.ToBase64String(Encoding.ASCII.GetBytes("not a signature")));

        var selection = BundleCatalog.Select(_temp.Path, _devKey);

        Assert.Null(selection.Bundle);
        Assert.Single(selection.Refused);
    }

    [Fact]
    public void PlanProviders_RuntimeOffersCudaOnly_TriesCudaThenCpu()
    {
        var plan = OnnxScorer.PlanProviders([ExecutionProvider.TensorRT, ExecutionProvider.Cuda, ExecutionProvider.Cpu], ["CUDAExecutionProvider", "CPUExecutionProvider"]);

        Assert.Equal([ExecutionProvider.Cuda, ExecutionProvider.Cpu], plan);
    }

    [Fact]
    public void PlanProviders_CpuNotListed_StillEndsWithCpu()
    {
        var plan = OnnxScorer.PlanProviders([ExecutionProvider.TensorRT], ["TensorrtExecutionProvider", "CPUExecutionProvider"]);

        Assert.Equal([ExecutionProvider.TensorRT, ExecutionProvider.Cpu], plan);
    }

    public void Dispose()
    {
        _devKey.Dispose();
        _temp.Dispose();
    }

    private string CopyBundle(string version)
    {
        var target = _temp.Combine(version);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(Repo.CurrentBundle))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return target;
    }
}
