using TorchSharp;
using TorchSharp.Modules;

namespace NanoVlm.Engine.Modules;

/// <summary>nanoVLM's <c>_init_weights</c>: Linear weights N(0, 0.02), biases zero.</summary>
internal static class Init
{
    public static Linear Linear(long inFeatures, long outFeatures, bool bias)
    {
        var linear = torch.nn.Linear(inFeatures, outFeatures, hasBias: bias);
        using (torch.no_grad())
        {
            torch.nn.init.normal_(linear.weight!, 0, 0.02);
            if (linear.bias is not null) torch.nn.init.zeros_(linear.bias);
        }
        return linear;
    }
}
