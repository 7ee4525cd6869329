import ArgumentParser
import Strata

/// A layer's learner, by the same names as a YAML layer.
struct LearnerOptions: ParsableArguments {
    @Option(help: "grbm, rbm, autoencoder, kmeans or spherical_kmeans (default: grbm). K-means makes one Lloyd step per epoch; --hidden is its number of centroids.")
    var learner: String?
    @Option(help: "Hidden units (default 400).")
    var hidden: String?
    @Option(help: "RBM objective: smd[:NOISE] (score matching, GRBM only; the default for grbm, noise 0.4), cd[:STEPS] (the default for rbm) or pcd[:STEPS].")
    var objective: String?
    @Option(help: "Weights start uniform in [-irange, irange] (default 0.05).")
    var irange: String?
    @Option(parsing: .unconditional, help: "RBM: initial hidden bias (default 0; pylearn2's quick start: -2).")
    var initHiddenBias: String?
    @Option(help: "GRBM: initial sigma (default 1).")
    var initSigma: String?
    @Option(help: "GRBM under smd: sigma's learning-rate scale (default 0.001); refused under cd/pcd, where sigma is not learned.")
    var sigmaLrScale: String?
    @Option(help: "RBM: use visible means in the Gibbs chain, true or false (pylearn2's mean_vis; default false).")
    var meanVisible: String?
    @Option(help: "Autoencoder: tie decoder weights to the encoder's transpose, true or false (default true).")
    var tied: String?
    @Option(help: "Autoencoder encoder activation: sigmoid, tanh, relu, leaky_relu, linear (default sigmoid).")
    var encoder: String?
    @Option(help: "Autoencoder decoder activation: sigmoid, tanh, relu, leaky_relu, linear (default sigmoid).")
    var decoder: String?
    @Option(help: "Autoencoder loss: cross-entropy or squared-error (default cross-entropy).")
    var loss: String?
    @Option(help: "Autoencoder corruption: none, masking:P, gaussian:STD or salt-pepper:P (default none).")
    var corruption: String?
    @Option(help: "Autoencoder: KL sparsity weight (default 0: off).")
    var sparsityWeight: String?
    @Option(help: "Autoencoder: sparsity target activation (default 0.05; needs --sparsity-weight).")
    var sparsityTarget: String?
    @Option(help: "Autoencoder: contractive penalty weight (default 0: off).")
    var contractiveWeight: String?

    var settings: [String: String?] {
        ["learner": learner, "hidden": hidden, "objective": objective, "irange": irange, "init_hidden_bias": initHiddenBias, "init_sigma": initSigma,
         "sigma_lr_scale": sigmaLrScale, "mean_visible": meanVisible, "tied": tied, "encoder": encoder, "decoder": decoder, "loss": loss,
         "corruption": corruption, "sparsity_weight": sparsityWeight, "sparsity_target": sparsityTarget, "contractive_weight": contractiveWeight]
    }
}

/// The training loop of pretraining, by the same names as a YAML layer's `training:`.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Examples per minibatch (default \(TrainingConfiguration().batchSize)).")
    var batchSize: String?
    @Option(help: "Base learning rate (default \(TrainingConfiguration().learningRate)).")
    var learningRate: String?
    @Option(help: "constant (default), linear:FINAL_FRACTION:EPOCH, exponential:FACTOR[:MIN], or monitor (pylearn2's MonitorBasedLRAdjuster).")
    var lrSchedule: String?
    @Option(help: "momentum (default: SGD with the momentum settings), nesterov, adam (Kingma and Ba's 0.9, 0.999, 1e-8) or adam:BETA1:BETA2:EPSILON. Adam ignores the momentum settings; its --learning-rate defaults to the paper's 0.001.")
    var optimizer: String?
    @Option(help: "Momentum (default 0); with --final-momentum, the ramp's start.")
    var momentum: String?
    @Option(help: "Momentum reached at --momentum-saturate (linear ramp from --momentum-start).")
    var finalMomentum: String?
    @Option(help: "Epoch the momentum ramp starts (default 1; needs --final-momentum).")
    var momentumStart: String?
    @Option(help: "Epoch the momentum ramp ends (default \(TrainingConfiguration().momentumSaturateEpoch); needs --final-momentum).")
    var momentumSaturate: String?
    @Option(help: "L2 weight decay (default 0).")
    var weightDecay: String?
    @Option(help: "The most epochs (default \(TrainingConfiguration().maxEpochs)).")
    var epochs: String?
    @Option(help: "Stop when this channel stops improving (for example train_objective).")
    var earlyStopping: String?
    @Option(help: "Early stopping: the proportional decrease that counts as improvement (default 0.01).")
    var propDecrease: String?
    @Option(help: "Early stopping: epochs without improvement before stopping (default 1).")
    var patience: String?
    @Option(help: "Checkpoint every N epochs, and at the end (default 1).")
    var checkpointEvery: String?
    @Option(help: "Training examples (a fixed seeded subset) the monitor evaluates each epoch (default \(TrainingConfiguration().monitorExamples)).")
    var monitorExamples: String?
    @Option(help: "Stop as diverged when the objective rises above its lowest value by more than this many times the larger of its lowest and first epoch values (default 1000); NaN always stops.")
    var divergenceFactor: String?
    @Flag(help: "Draw random numbers per example, as training across MPI ranks does: one process with batch N·b then trains as N ranks with batch b.")
    var randomPerExample = false
    @Option(help: "Under mpirun: sync (every step combined by allreduce; the default) or async[:FETCH:PUSH] (Downpour SGD: replicas fetch the parameter server's weights every FETCH steps and push their accrued gradients every PUSH steps, AdaGrad on the server; default 1:1).")
    var distributed: String?

    var settings: [String: String?] {
        ["batch_size": batchSize, "learning_rate": learningRate, "lr_schedule": lrSchedule, "momentum": momentum, "final_momentum": finalMomentum,
         "momentum_start": momentumStart, "momentum_saturate": momentumSaturate, "weight_decay": weightDecay, "epochs": epochs,
         "early_stopping": earlyStopping, "prop_decrease": propDecrease, "patience": patience, "checkpoint_every": checkpointEvery,
         "monitor_examples": monitorExamples, "divergence_factor": divergenceFactor, "optimizer": optimizer,
         "random_per_example": randomPerExample ? "true" : nil, "distributed": distributed]
    }
}

/// Preprocessing steps and their settings, by the YAML step names.
struct PreprocessingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Steps in order, comma-separated: remove-mean, gcn, zca, standardize, pca.",
                                            discussion: "The quick start uses gcn,zca (GCN's defaults are the quick start's: --sqrt-bias 10, --use-std true)."))
    var preprocess: String?
    @Option(help: "GCN: added inside the square root (pylearn2's sqrt_bias; default 10).")
    var sqrtBias: String?
    @Option(help: "GCN: divide by the standard deviation (true, the default) or the norm (false).")
    var useStd: String?
    @Option(help: "GCN: multiply the result by this (default 1).")
    var gcnScale: String?
    @Option(help: "GCN: the smallest divisor (default 1e-8).")
    var minDivisor: String?
    @Option(help: "ZCA: regularizer added to the covariance's diagonal (pylearn2's filter_bias; default 0.1).")
    var filterBias: String?
    @Option(help: "Standardize: added to each feature's standard deviation (default 1e-4).")
    var stdEps: String?
    @Option(help: "PCA: number of components kept.")
    var pcaComponents: String?
    @Option(help: "PCA: divide each component by its standard deviation, true or false (default false).")
    var pcaWhiten: String?

    var settings: [String: String?] {
        ["preprocess": preprocess, "sqrt_bias": sqrtBias, "use_std": useStd, "gcn_scale": gcnScale, "min_divisor": minDivisor, "filter_bias": filterBias,
         "std_eps": stdEps, "pca_components": pcaComponents, "pca_whiten": pcaWhiten]
    }

    var given: Bool { settings.values.contains { $0 != nil } }

    func pipeline() throws -> PreprocessingPipeline {
        try PreprocessingPipeline.read(steps: preprocess ?? "", settings: FlagSettings(settings))
    }
}

/// How features are computed from a stack.
struct FeatureOptions: ParsableArguments {
    @Option(help: "Features from this layer (1 = the bottom; default: the top).")
    var layer: String?
    @Option(help: "Convolutional extraction (stacks trained on patches): window stride, N or YxX (default 1).")
    var stride: String?
    @Option(help: "Pooling grid over the hidden maps, RxC (default 2x2: quadrants, as Coates et al.).")
    var pool: String?
    @Option(help: "Pooling: sum (default), mean, max or l2 (the square root of the sum of squares).")
    var poolOp: String?
    @Option(help: "How the chosen layer encodes: means (its hidden means, the default) soft-threshold:ALPHA (Coates and Ng's max(0, ±x·d - ALPHA) on its unit-norm filters, both polarities: twice the features), triangle (the filters as centroids: max(0, mean distance - distance)) or hard (1 for the nearest filter).")
    var encoding: String?
    @Option(help: "Images per extraction batch, bounding memory (default 16).")
    var imagesPerBatch: String?
    @Option(help: "For a stack trained on another stack's maps (pretrain --on with --window): append those maps pooled again over this grid, RxC, whose sides divide theirs (both layers' features, as Coates and Ng 2011).")
    var lowerPool: String?

    var settings: [String: String?] {
        ["layer": layer, "stride": stride, "pool": pool, "pool_op": poolOp, "encoding": encoding, "images_per_batch": imagesPerBatch, "lower_pool": lowerPool]
    }

    var given: Bool { settings.values.contains { $0 != nil } }
}
