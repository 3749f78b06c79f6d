using NanoVlm.Engine.Training;
using NanoVlm.Loader.Pipeline;

namespace NanoVlm.Engine.Tests.Training;

/// <summary>When an epoch of a (staged) training mixture ends, from the loader's per-source positions.</summary>
public sealed class MixtureEpochsTests
{
    private static LoaderState State(params (int Epoch, bool Ended)[] sources)
        => new() { Sources = [.. sources.Select(s => new SourcePosition { Epoch = s.Epoch, Ended = s.Ended })] };

    [Fact]
    public void One_stage_counts_the_slowest_sources_epochs()
    {
        Assert.Equal(0, MixtureEpochs.Completed(State((3, false), (0, false))));
        Assert.Equal(2, MixtureEpochs.Completed(State((3, false), (2, false))));
        Assert.Equal(1, MixtureEpochs.Completed(State((3, false), (0, true)))); // an ended source counts its last epoch
        Assert.Equal(0, MixtureEpochs.Completed(new LoaderState()));
    }

    [Fact]
    public void A_finished_stage_adds_its_epochs_and_the_next_stage_counts_on()
    {
        int[] stages = [0, 0, 1];
        Assert.Equal(0, MixtureEpochs.Completed(State((0, true), (0, false), (0, false)), stages)); // stage 0 not through yet
        Assert.Equal(1, MixtureEpochs.Completed(State((0, true), (0, true), (0, false)), stages));  // stage 0 done, stage 1 started
        Assert.Equal(3, MixtureEpochs.Completed(State((0, true), (0, true), (2, false)), stages));  // and two passes over stage 1
        // Without the stages, the ended first stage would hold the count at 1 for the rest of the run.
        Assert.Equal(1, MixtureEpochs.Completed(State((0, true), (0, true), (2, false))));
    }
}
