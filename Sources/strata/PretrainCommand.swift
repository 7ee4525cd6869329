import ArgumentParser
import Foundation
import Strata

enum LearnerChoice: String, ExpressibleByArgument, CaseIterable {
    case grbm, rbm, autoencoder
}

enum ObjectiveChoice: String, ExpressibleByArgument, CaseIterable {
    case smd, cd, pcd
}

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Train one layer (GRBM, binary RBM or autoencoder) without labels; write its checkpoint and monitor file.",
        discussion: """
            Input is a dataset's images (--dataset, optionally --binarize), patches drawn from them \
            (--window with --random N, preprocessed with --preprocess), or an .npy matrix (--input). \
            The run folder gets model.safetensors (checkpoint, with the fitted preprocessing) and \
            monitor.jsonl (channels per epoch). --resume continues a run exactly.

            Every run also writes stack.safetensors: the layers so far with their input's \
            preprocessing. Greedy layer-wise pretraining trains the next layer --on it, \
            on the hidden means of the layers below, leaving them untouched:
              strata pretrain --learner autoencoder --hidden 1000 --corruption masking:0.1 --run runs/l1
              strata pretrain --on runs/l1/stack.safetensors --learner autoencoder --hidden 1000 \
                --corruption masking:0.2 --run runs/l2     # runs/l2/stack.safetensors: 784-1000-1000

            pylearn2's quick start (grbm_smd) on Fashion-MNIST patches:
              strata pretrain --dataset fashion-mnist --pixel-scale 255 --window 8 --random 150000 \\
                --preprocess gcn,zca --learner grbm --hidden 400 --objective smd --noise 0.4 \\
                --init-sigma 0.4 --init-hidden-bias -2 --batch-size 5 --learning-rate 0.1 \\
                --lr-schedule monitor --early-stopping train_objective --run runs/grbm_smd
            """
    )

    // Data
    @Option(help: "A dataset name (fashion-mnist, mnist, cifar10) or a folder of PNG images.")
    var dataset = "fashion-mnist"
    @Option(help: "Train on this .npy matrix (examples x features) instead of a dataset.")
    var input: String?
    @Option(help: "Add a layer on top of this stack (a stack.safetensors or a layer checkpoint): train on its features of the data.")
    var on: String?
    @Option(help: "Use only the first N images.")
    var limit: Int?
    @Option(help: "Multiply pixel values by this (255 gives CIFAR-like 0..255 values to MNIST-style data).")
    var pixelScale: Float = 1
    @Flag(help: "Threshold pixels at half their range to 0/1 (for binary RBMs on images).")
    var binarize = false
    @Option(help: "Train on patches of this size (N or HxW) drawn with --random.")
    var window: String?
    @Option(help: "Number of random patches.")
    var random = 150_000
    @OptionGroup var preprocessing: PreprocessingOptions
    @Option(help: "Hold out this fraction of the examples for validation channels.")
    var validationFraction: Float = 0

    // Learner
    @Option(help: "grbm, rbm or autoencoder.")
    var learner: LearnerChoice = .grbm
    @Option(help: "Hidden units.")
    var hidden = 400
    @Option(help: "RBM objective: smd (score matching, GRBM only), cd or pcd.")
    var objective: ObjectiveChoice?
    @Option(help: "Gibbs steps for cd/pcd.")
    var gibbsSteps = 1
    @Option(help: "Score matching: standard deviation of the Gaussian corruption.")
    var noise: Float = 0.4
    @Option(help: "Weights start uniform in [-irange, irange].")
    var irange: Float = 0.05
    @Option(parsing: .unconditional, help: "RBM: initial hidden bias (pylearn2's quick start: -2).")
    var initHiddenBias: Float = 0
    @Option(help: "GRBM: initial sigma.")
    var initSigma: Float = 1
    @Option(help: "GRBM: sigma's learning-rate scale.")
    var sigmaLrScale: Float = 1e-3
    @Flag(help: "RBM: use visible means in the Gibbs chain (pylearn2's mean_vis).")
    var meanVisible = false
    @Flag(inversion: .prefixedNo, help: "Autoencoder: tie decoder weights to the encoder's transpose.")
    var tied = true
    @Option(help: "Autoencoder encoder activation: sigmoid, tanh, relu, linear.")
    var encoder: String = "sigmoid"
    @Option(help: "Autoencoder decoder activation: sigmoid, tanh, relu, linear.")
    var decoder: String = "sigmoid"
    @Option(help: "Autoencoder loss: ce (cross-entropy) or mse.")
    var loss = "ce"
    @Option(help: "Autoencoder corruption: none, masking:P, gaussian:STD, salt-pepper:P.")
    var corruption = "none"
    @Option(help: "Autoencoder: KL sparsity weight (0: off).")
    var sparsityWeight: Float = 0
    @Option(help: "Autoencoder: sparsity target activation.")
    var sparsityTarget: Float = 0.05
    @Option(help: "Autoencoder: contractive penalty weight (0: off).")
    var contractiveWeight: Float = 0

    // Training
    @Option(help: "Examples per minibatch.")
    var batchSize = 100
    @Option(help: "Base learning rate.")
    var learningRate: Float = 0.1
    @Option(help: "constant, linear:FINAL_FRACTION:EPOCH, exponential:FACTOR[:MIN], or monitor (pylearn2's MonitorBasedLRAdjuster).")
    var lrSchedule = "constant"
    @Option(help: "Momentum at the start.")
    var momentum: Float = 0
    @Option(help: "Momentum reached at --momentum-saturate (linear ramp from --momentum-start).")
    var finalMomentum: Float?
    @Option(help: "Epoch the momentum ramp starts.")
    var momentumStart = 1
    @Option(help: "Epoch the momentum ramp ends.")
    var momentumSaturate = 10
    @Option(help: "L2 weight decay.")
    var weightDecay: Float = 0
    @Option(help: "The most epochs.")
    var epochs = 10
    @Option(help: "Stop when this channel stops improving (for example train_objective).")
    var earlyStopping: String?
    @Option(help: "Early stopping: the proportional decrease that counts as improvement.")
    var propDecrease: Float = 0.01
    @Option(help: "Early stopping: epochs without improvement before stopping.")
    var patience = 1
    @Option(help: "Checkpoint every N epochs (and at the end).")
    var checkpointEvery = 1
    @Option(help: "Seed for initialization, shuffling, sampling and patches.")
    var seed: UInt64 = 1
    @Option(name: .customLong("run"), help: "The run folder.")
    var runFolder = "runs/pretrain"
    @Flag(help: "Continue the run in --run from its checkpoint.")
    var resume = false
    @OptionGroup var compute: ComputeOptions

    /// Checks the learner's settings before any data is loaded.
    func validate() throws {
        guard validationFraction >= 0, validationFraction < 1 else { throw ValidationError("--validation-fraction must lie in [0, 1)") }
        switch learner {
        case .grbm, .rbm: _ = try rbmConfiguration(visible: 1)
        case .autoencoder: _ = try autoencoderConfiguration(visible: 1)
        }
    }

    func run() throws {
        compute.apply()
        var (data, extra, pipeline) = try loadTrainingData()
        var validation: Tensor?
        if validationFraction > 0 {
            let held = max(1, Int(Float(data.rows) * validationFraction))
            validation = data.rows(data.rows - held ..< data.rows)
            data = data.rows(0 ..< data.rows - held)
        }
        var training = TrainingConfiguration()
        training.batchSize = batchSize
        training.learningRate = learningRate
        training.schedule = try parseSchedule(lrSchedule)
        training.initialMomentum = momentum
        training.finalMomentum = finalMomentum ?? momentum
        training.momentumStartEpoch = momentumStart
        training.momentumSaturateEpoch = momentumSaturate
        training.weightDecay = weightDecay
        training.maxEpochs = epochs
        training.checkpointEvery = checkpointEvery
        training.seed = seed
        training.cores = compute.cores
        if let channel = earlyStopping {
            training.earlyStopping = EarlyStopping(channel: channel, proportionalDecrease: propDecrease, patience: patience)
        }
        var trainer = Trainer(configuration: training, folder: runFolder)
        trainer.preprocessing = pipeline
        trainer.extraMetadata = extra
        print("training \(learner.rawValue) \(data.columns)-\(hidden) on \(data.rows) examples\(validation.map { ", validating on \($0.rows)" } ?? ""); run folder \(runFolder)")
        let report: Trainer.Report
        let trained: any UnsupervisedLearner
        switch learner {
        case .grbm, .rbm:
            var model = try RBM(rbmConfiguration(visible: data.columns))
            report = try trainer.train(&model, data: data, validation: validation, resume: resume)
            trained = model
        case .autoencoder:
            var model = try Autoencoder(autoencoderConfiguration(visible: data.columns))
            report = try trainer.train(&model, data: data, validation: validation, resume: resume)
            trained = model
        }
        let base = try on.map { try LayerStack.read($0) } ?? LayerStack(preprocessing: pipeline, extra: extra)
        let stack = try base.appending(trained)
        let stackPath = runFolder + "/stack.safetensors"
        try stack.write(to: stackPath)
        let last = report.log.rows.last ?? [:]
        let summary = ["train_objective", "train_reconstruction_error", "train_pseudo_likelihood", "valid_objective"]
            .compactMap { key in last[key].map { "\(key) \(String(format: "%.5g", $0))" } }.joined(separator: ", ")
        print("\(report.epochs) epochs\(report.stoppedEarly ? " (stopped early)" : ""), \(String(format: "%.1f", report.seconds)) s: \(summary)")
        print("checkpoint: \(trainer.checkpointPath)\nmonitor:    \(trainer.monitorPath)\nstack:      \(stackPath) (\(stack.sizes))")
    }

    func loadTrainingData() throws -> (Tensor, [String: String], PreprocessingPipeline) {
        if let on {
            // The next layer of a stack: the stack's features of the same kind of input.
            let stack = try LayerStack.read(on)
            var (raw, extra, _) = try loadRawData(treatment: PixelTreatment(metadata: stack.extra), fitting: false)
            let features = try stack.features(ofRaw: raw)
            raw = Tensor(zeros: [0, 0])
            extra["source"] = (extra["source"] ?? "") + " through \(on) (\(stack.sizes))"
            print("training on the \(features.columns) features of \(on)'s top layer")
            return (features, extra, PreprocessingPipeline())
        }
        return try loadRawData(treatment: PixelTreatment(scale: pixelScale, binarize: binarize), fitting: true)
    }

    /// Images, random patches or an .npy matrix, preprocessed with a fitted pipeline when `fitting`.
    func loadRawData(treatment: PixelTreatment, fitting: Bool) throws -> (Tensor, [String: String], PreprocessingPipeline) {
        var pipeline = fitting ? try preprocessing.makePipeline() : PreprocessingPipeline()
        if let input {
            var x = try NPY.read(input).tensor
            if x.rank != 2 { x = x.reshaped([x.rows, x.columns]) }
            try pipeline.fitTransform(&x)
            return (x, ["source": input], pipeline)
        }
        let images = try loadImages(dataset, split: .train, limit: limit, treatment: treatment)
        let window = try self.window.map { try parsePair($0, name: "window") }
        let prepared = try PretrainingData(images: images, window: window.map { (height: $0.0, width: $0.1) }, patchCount: random, seed: seed,
                                           pipeline: pipeline, metadata: treatment.metadata)
        if let window {
            print("\(prepared.examples.rows) random \(window.0)x\(window.1) patches of \(images.name), preprocessing \(prepared.pipeline.summary)")
        }
        return (prepared.examples, prepared.metadata, prepared.pipeline)
    }

    func rbmConfiguration(visible: Int) throws -> RBM.Configuration {
        let chosen = objective ?? (learner == .grbm ? .smd : .cd)
        let rbmObjective: RBM.Objective
        switch chosen {
        case .smd: rbmObjective = .scoreMatching(noise: noise)
        case .cd: rbmObjective = .contrastiveDivergence(steps: gibbsSteps)
        case .pcd: rbmObjective = .persistentCD(steps: gibbsSteps)
        }
        var c = RBM.Configuration(visibleCount: visible, hiddenCount: hidden, visibleUnits: learner == .grbm ? .gaussian : .binary, objective: rbmObjective)
        (c.irange, c.initHiddenBias, c.initSigma, c.sigmaLearningRateScale, c.meanVisible, c.seed) = (irange, initHiddenBias, initSigma, sigmaLrScale, meanVisible, seed)
        try c.validate()
        return c
    }

    func autoencoderConfiguration(visible: Int) throws -> Autoencoder.Configuration {
        var c = Autoencoder.Configuration(visibleCount: visible, hiddenCount: hidden)
        guard let e = Activation(rawValue: encoder), let d = Activation(rawValue: decoder) else {
            throw ValidationError("activations are sigmoid, tanh, relu or linear (got --encoder \(encoder), --decoder \(decoder))")
        }
        (c.encoder, c.decoder, c.tied, c.irange, c.seed) = (e, d, tied, irange, seed)
        switch loss {
        case "ce", "cross-entropy": c.loss = .crossEntropy
        case "mse", "squared-error": c.loss = .squaredError
        default: throw ValidationError("--loss is ce or mse, not '\(loss)'")
        }
        c.corruption = try parseCorruption(corruption)
        (c.sparsityWeight, c.sparsityTarget, c.contractiveWeight) = (sparsityWeight, sparsityTarget, contractiveWeight)
        try c.validate()
        return c
    }
}

func parseCorruption(_ text: String) throws -> Autoencoder.Corruption {
    let parts = text.split(separator: ":").map(String.init)
    let level = parts.count > 1 ? Float(parts[1]) : nil
    switch (parts.first ?? "", level) {
    case ("none", _): return .none
    case ("masking", let p?): return .masking(probability: p)
    case ("gaussian", let s?): return .gaussian(standardDeviation: s)
    case ("salt-pepper", let p?), ("salt_pepper", let p?): return .saltAndPepper(probability: p)
    default: throw ValidationError("--corruption is none, masking:P, gaussian:STD or salt-pepper:P (got '\(text)')")
    }
}

func parseSchedule(_ text: String) throws -> LearningRateSchedule {
    let parts = text.split(separator: ":").map(String.init)
    switch parts.first ?? "" {
    case "constant": return .constant
    case "monitor": return .monitorBasedDefaults
    case "linear":
        guard parts.count == 3, let f = Float(parts[1]), let e = Int(parts[2]) else { throw ValidationError("--lr-schedule linear:FINAL_FRACTION:EPOCH, for example linear:0.1:20") }
        return .linearDecay(finalFraction: f, saturateEpoch: e)
    case "exponential":
        guard parts.count >= 2, let f = Float(parts[1]) else { throw ValidationError("--lr-schedule exponential:FACTOR[:MIN], for example exponential:0.95") }
        return .exponentialDecay(factor: f, minimum: parts.count > 2 ? Float(parts[2]) ?? 0 : 0)
    default:
        throw ValidationError("--lr-schedule is constant, linear:F:E, exponential:F[:MIN] or monitor (got '\(text)')")
    }
}
