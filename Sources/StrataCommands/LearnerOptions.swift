import ArgumentParser
import Strata

/// A layer's learner, by the same names as a YAML layer.
struct LearnerOptions: ParsableArguments {
    /// The library's defaults, which the help texts quote.
    static let (rbm, autoencoder) = (RBM.Configuration(visibleCount: 1, hiddenCount: 1, visibleUnits: .gaussian, objective: .contrastiveDivergence(steps: 1)),
                                     Autoencoder.Configuration(visibleCount: 1, hiddenCount: 1))
    static let (grbmObjective, rbmObjective) = (LayerSettings.defaultObjective(gaussian: true).text, LayerSettings.defaultObjective(gaussian: false).text)

    @Option(help: "grbm, rbm, autoencoder, kmeans or spherical_kmeans (default: \(LayerSettings.defaultLearner)). K-means makes one Lloyd step per epoch; --hidden is its number of centroids.")
    var learner: String?
    @Option(help: "Hidden units (default \(LayerSettings.defaultHidden)).")
    var hidden: String?
    @Option(help: "RBM objective: smd[:NOISE] (score matching, GRBM only), cd[:STEPS] or pcd[:STEPS] (default: \(grbmObjective) for grbm, \(rbmObjective) for rbm).")
    var objective: String?
    @Option(help: "Weights start uniform in [-irange, irange] (default \(shown(rbm.irange))).")
    var irange: String?
    @Option(parsing: .unconditional, help: "RBM: initial hidden bias (default \(shown(rbm.initHiddenBias)); pylearn2's quick start: -2).")
    var initHiddenBias: String?
    @Option(help: "GRBM: initial sigma (default \(shown(rbm.initSigma))).")
    var initSigma: String?
    @Option(help: "GRBM under smd: sigma's learning-rate scale (default \(shown(rbm.sigmaLearningRateScale))); refused under cd/pcd, where sigma is not learned.")
    var sigmaLrScale: String?
    @Option(help: "RBM: use visible means in the Gibbs chain, true or false (pylearn2's mean_vis; default \(rbm.meanVisible)).")
    var meanVisible: String?
    @Option(help: "Autoencoder: tie decoder weights to the encoder's transpose, true or false (default \(autoencoder.tied)).")
    var tied: String?
    @Option(help: "Autoencoder encoder activation: sigmoid, tanh, relu, leaky_relu, linear (default \(autoencoder.encoder.rawValue)).")
    var encoder: String?
    @Option(help: "Autoencoder decoder activation: sigmoid, tanh, relu, leaky_relu, linear (default \(autoencoder.decoder.rawValue)).")
    var decoder: String?
    @Option(help: "Autoencoder loss: cross-entropy or squared-error (default \(autoencoder.loss.text)).")
    var loss: String?
    @Option(help: "Autoencoder corruption: none, masking:P, gaussian:STD or salt-pepper:P (default \(autoencoder.corruption.text)).")
    var corruption: String?
    @Option(help: "Autoencoder: KL sparsity weight (default \(shown(autoencoder.sparsityWeight)): off).")
    var sparsityWeight: String?
    @Option(help: "Autoencoder: sparsity target activation (default \(shown(autoencoder.sparsityTarget)); needs --sparsity-weight).")
    var sparsityTarget: String?
    @Option(help: "Autoencoder: contractive penalty weight (default \(shown(autoencoder.contractiveWeight)): off).")
    var contractiveWeight: String?

    var settings: [String: String?] {
        ["learner": learner, "hidden": hidden, "objective": objective, "irange": irange, "init_hidden_bias": initHiddenBias, "init_sigma": initSigma,
         "sigma_lr_scale": sigmaLrScale, "mean_visible": meanVisible, "tied": tied, "encoder": encoder, "decoder": decoder, "loss": loss,
         "corruption": corruption, "sparsity_weight": sparsityWeight, "sparsity_target": sparsityTarget, "contractive_weight": contractiveWeight]
    }
}

/// The training loop of pretraining, by the same names as a YAML layer's `training:`.
struct TrainingOptions: ParsableArguments {
    @OptionGroup var sgd: SGDOptions
    @Option(help: "constant (default), linear:FINAL_FRACTION:EPOCH, exponential:FACTOR[:MIN], or monitor (pylearn2's MonitorBasedLRAdjuster).")
    var lrSchedule: String?
    @Option(help: "Epoch the momentum ramp starts (default \(TrainingConfiguration().momentumStartEpoch); needs --final-momentum).")
    var momentumStart: String?
    @Option(help: "Stop when this channel stops improving (for example train_objective).")
    var earlyStopping: String?
    @Option(help: "Early stopping: the proportional decrease that counts as improvement (default \(EarlyStopping().proportionalDecrease)).")
    var propDecrease: String?
    @Option(help: "Early stopping: epochs without improvement before stopping (default \(EarlyStopping().patience)).")
    var patience: String?
    @Option(help: "Checkpoint every N epochs, and at the end (default \(TrainingConfiguration().checkpointEvery)).")
    var checkpointEvery: String?
    @Option(help: "Training examples (a fixed seeded subset) the monitor evaluates each epoch (default \(TrainingConfiguration().monitorExamples)).")
    var monitorExamples: String?

    var settings: [String: String?] {
        sgd.settings.merging(["lr_schedule": lrSchedule, "momentum_start": momentumStart, "early_stopping": earlyStopping, "prop_decrease": propDecrease,
                              "patience": patience, "checkpoint_every": checkpointEvery, "monitor_examples": monitorExamples]) { a, _ in a }
    }
}

/// Preprocessing steps and their settings, by the YAML step names.
struct PreprocessingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Steps in order, comma-separated: remove-mean, gcn, zca, standardize, pca.",
                                            discussion: "The quick start uses gcn,zca (GCN's defaults are the quick start's: --sqrt-bias \(shown(PreprocessingPipeline.defaultGCN.sqrtBias)), --use-std \(PreprocessingPipeline.defaultGCN.useStd))."))
    var preprocess: String?
    @Option(help: "GCN: added inside the square root (pylearn2's sqrt_bias; default \(shown(PreprocessingPipeline.defaultGCN.sqrtBias))).")
    var sqrtBias: String?
    @Option(help: "GCN: divide by the standard deviation (true) or the norm (false) (default \(PreprocessingPipeline.defaultGCN.useStd)).")
    var useStd: String?
    @Option(help: "GCN: multiply the result by this (default \(shown(PreprocessingPipeline.defaultGCN.scale))).")
    var gcnScale: String?
    @Option(help: "GCN: the smallest divisor (default \(shown(PreprocessingPipeline.defaultGCN.minDivisor))).")
    var minDivisor: String?
    @Option(help: "ZCA: regularizer added to the covariance's diagonal (pylearn2's filter_bias; default \(shown(ZCA().filterBias))).")
    var filterBias: String?
    @Option(help: "Standardize: added to each feature's standard deviation (default \(shown(Standardization().stdEps))).")
    var stdEps: String?
    @Option(help: "PCA: number of components kept.")
    var pcaComponents: String?
    @Option(help: "PCA: divide each component by its standard deviation, true or false (default \(PCA(components: 1).whiten)).")
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
    @Option(help: "Convolutional extraction (stacks trained on patches): window stride, N or YxX (default \(FeatureSettings().stride.height)).")
    var stride: String?
    @Option(help: "Pooling grid over the hidden maps, RxC (default \(FeatureSettings().pooling.gridRows)x\(FeatureSettings().pooling.gridColumns): quadrants, as Coates et al.).")
    var pool: String?
    @Option(help: "Pooling: sum, mean, max or l2 (the square root of the sum of squares) (default \(FeatureSettings().pooling.operation.rawValue)).")
    var poolOp: String?
    @Option(help: "How the chosen layer encodes: means (its hidden means, the default) soft-threshold:ALPHA (Coates and Ng's max(0, ±x·d - ALPHA) on its unit-norm filters, both polarities: twice the features), triangle (the filters as centroids: max(0, mean distance - distance)) or hard (1 for the nearest filter).")
    var encoding: String?
    @Option(help: "Images per extraction batch, bounding memory (default \(FeatureSettings().imagesPerBatch)).")
    var imagesPerBatch: String?
    @Option(help: "For a stack trained on another stack's maps (pretrain --on with --window): append those maps pooled again over this grid, RxC, whose sides divide theirs (both layers' features, as Coates and Ng 2011).")
    var lowerPool: String?

    var settings: [String: String?] {
        ["layer": layer, "stride": stride, "pool": pool, "pool_op": poolOp, "encoding": encoding, "images_per_batch": imagesPerBatch, "lower_pool": lowerPool]
    }

    var given: Bool { settings.values.contains { $0 != nil } }
}

/// A default as the help quotes it: `10`, `0.05`, `1e-08`, not `10.0`.
func shown(_ value: Float) -> String { String(format: "%g", Double(value)) }
