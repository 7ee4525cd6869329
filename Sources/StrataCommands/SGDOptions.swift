import ArgumentParser
import Strata

/// The minibatch-SGD flags pretraining and fine-tuning share (the library's
/// `minibatchSGDKeys`, read by one reader for both): declared once, their
/// help giving each loop's default from the library's own settings.
struct SGDOptions: ParsableArguments {
    static let (pretrain, finetune) = (TrainingConfiguration(), FineTuningConfiguration())

    /// `(default: pretraining A, fine-tuning B)`, or one value when they agree.
    static func defaults<T: Equatable>(_ a: T, _ b: T) -> String { a == b ? "default \(a)" : "default: pretraining \(a), fine-tuning \(b)" }

    @Option(help: "Examples per minibatch (\(defaults(pretrain.batchSize, finetune.batchSize))).")
    var batchSize: String?
    @Option(help: "Learning rate (\(defaults(pretrain.learningRate, finetune.learningRate)); Adam's defaults to the paper's 0.001).")
    var learningRate: String?
    @Option(help: "momentum (the default: SGD with the momentum settings), nesterov, adam (Kingma and Ba's 0.9, 0.999, 1e-8), adam:BETA1:BETA2:EPSILON, or for fine-tuning lbfgs / lbfgs:MEMORY (full-batch L-BFGS with a line search, 10 pairs by default: each epoch is one iteration, --batch-size the chunk of its gradient; under mpirun the ranks take chunks as they finish, as Sandblaster). Adam ignores the momentum settings; L-BFGS takes no learning rate, momentum, dropout, batch norm or augmentation.")
    var optimizer: String?
    @Option(help: "Momentum at the ramp's start (\(defaults(pretrain.initialMomentum, finetune.initialMomentum))).")
    var momentum: String?
    @Option(help: "Momentum reached at --momentum-saturate (\(defaults(pretrain.finalMomentum, finetune.finalMomentum))).")
    var finalMomentum: String?
    @Option(help: "Epoch the momentum ramp ends (\(defaults(pretrain.momentumSaturateEpoch, finetune.momentumSaturateEpoch))).")
    var momentumSaturate: String?
    @Option(help: "L2 weight decay (\(defaults(pretrain.weightDecay, finetune.weightDecay))).")
    var weightDecay: String?
    @Option(help: "The most epochs (\(defaults(pretrain.maxEpochs, finetune.maxEpochs))).")
    var epochs: String?
    @Option(help: "Stop as diverged when the objective rises above its lowest value by more than this many times the larger of its lowest and first epoch values (\(defaults(pretrain.divergenceFactor, finetune.divergenceFactor))); NaN always stops, and a classifier at chance level with a loss above a uniform guess's.")
    var divergenceFactor: String?
    @Flag(help: "Draw random numbers per example, as training across MPI ranks does: one process with batch N·b then trains as N ranks with batch b.")
    var randomPerExample = false
    @Option(help: "Under mpirun: sync (every step combined by allreduce; the default) or async[:FETCH:PUSH] (Downpour SGD: replicas fetch the parameter server's weights every FETCH steps and push their accrued gradients every PUSH steps, AdaGrad on the server; default 1:1).")
    var distributed: String?
    @Option(help: "Also write the checkpoint every N steps inside an epoch (default 0: only at epochs' ends), so a run restarted after a lost process (strata launch) redoes at most N steps; under Downpour the replicas meet first.")
    var checkpointEverySteps: String?
    @Option(help: "Downpour: the parameter server split over this many ranks (the first ones), each shard fetched and pushed under its own lock (default 1).")
    var serverShards: String?
    @Option(help: "Downpour: drop a push computed on parameters more than N server updates old, and refetch (default 0: pushes of any age count).")
    var maxStaleness: String?
    @Option(help: ArgumentHelp("Split the model over P processes by hidden units (under mpirun -np P, or R x P for R replicas): each holds 1/P of the weights. An autoencoder or an RBM (pretrain), a network's hidden layers (finetune); default 1.",
                               valueName: "P"))
    var modelParallel: String?

    var settings: [String: String?] {
        ["batch_size": batchSize, "learning_rate": learningRate, "optimizer": optimizer, "momentum": momentum, "final_momentum": finalMomentum,
         "momentum_saturate": momentumSaturate, "weight_decay": weightDecay, "epochs": epochs, "divergence_factor": divergenceFactor,
         "random_per_example": randomPerExample ? "true" : nil, "distributed": distributed,
         "checkpoint_every_steps": checkpointEverySteps,
         "server_shards": serverShards, "max_staleness": maxStaleness, "model_parallel": modelParallel]
    }
}
