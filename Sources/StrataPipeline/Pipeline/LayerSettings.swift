import StrataCore
import StrataData
import StrataModels
import StrataDistributed
import StrataTraining
import StrataFeatures
import StrataPictures
import StrataExport

/// One layer of a stack to pretrain: the learner (its kind, size and
/// hyperparameters) and how it is trained. `visibleCount` is filled in when
/// the layer's input is known.
public struct LayerSettings: Sendable {
    /// The learner of a layer, with its own configuration.
    public enum Learner: Sendable {
        case rbm(RBM.Configuration)
        case autoencoder(Autoencoder.Configuration)
        case kmeans(KMeans.Configuration)
    }

    public var learner: Learner
    public var training: TrainingConfiguration

    public init(learner: Learner, training: TrainingConfiguration) { (self.learner, self.training) = (learner, training) }

    /// The learner's kind as written in settings: `grbm`, `rbm`, `autoencoder`, `kmeans` or `spherical_kmeans`.
    public var kindName: String {
        switch learner {
        case .rbm(let c): c.visibleUnits == .gaussian ? "grbm" : "rbm"
        case .autoencoder: "autoencoder"
        case .kmeans(let c): c.spherical ? "spherical_kmeans" : "kmeans"
        }
    }

    public var hiddenCount: Int {
        switch learner {
        case .rbm(let c): c.hiddenCount
        case .autoencoder(let c): c.hiddenCount
        case .kmeans(let c): c.hiddenCount
        }
    }

    /// A new learner for `visible` inputs.
    public func makeLearner(visible: Int) throws -> any UnsupervisedLearner {
        switch learner {
        case .rbm(var c): c.visibleCount = visible; return try RBM(c)
        case .autoencoder(var c): c.visibleCount = visible; return try Autoencoder(c)
        case .kmeans(var c): c.visibleCount = visible; return try KMeans(c)
        }
    }

    /// One line: `GRBM 400 hidden, smd:0.4, batch 5, lr 0.1, up to 100 epochs`.
    public var summary: String {
        let t = training
        let what: String
        switch learner {
        case .rbm(let c): what = "\(c.visibleUnits == .gaussian ? "GRBM" : "RBM") \(c.hiddenCount) hidden, \(c.objective.text)"
        case .autoencoder(let c): what = "autoencoder \(c.hiddenCount) hidden (\(c.encoder.rawValue)/\(c.decoder.rawValue), \(c.loss.text), corruption \(c.corruption.text))"
        case .kmeans(let c): what = "\(c.spherical ? "spherical K-means" : "K-means") \(c.hiddenCount) centroids, one Lloyd step per epoch"
        }
        if t.maxEpochs == 0 { return "\(what), not trained: kept at its initialization (epochs 0: random features)" }
        return "\(what), batch \(t.batchSize), lr \(t.learningRate), up to \(counted(t.maxEpochs, "epoch"))"
    }

    /// The learner a layer gets when none is named: pylearn2's quick-start GRBM.
    public static let defaultLearner = "grbm"
    /// Hidden units (or K-means centroids) when none are given: the quick start's 400.
    public static let defaultHidden = 400
    /// The objective an RBM trains by when none is given: score matching with
    /// noise 0.4 for a GRBM (the quick start's SMD), CD-1 for a binary RBM.
    public static func defaultObjective(gaussian: Bool) -> RBM.Objective {
        gaussian ? .scoreMatching(noise: 0.4) : .contrastiveDivergence(steps: 1)
    }

    static let rbmKeys = ["objective", "init_hidden_bias", "init_sigma", "sigma_lr_scale", "mean_visible"]
    static let autoencoderKeys = ["tied", "encoder", "decoder", "loss", "corruption", "sparsity_weight", "sparsity_target", "contractive_weight"]
    /// Every key of a layer's learner.
    public static let learnerKeys = ["learner", "hidden", "irange", "seed"] + rbmKeys + autoencoderKeys

    /// Reads the learner from `learner`'s keys and its training from
    /// `training`'s (the same source for a command's flags; a nested
    /// `training:` mapping in YAML). `seed` is the default of the layer's seed.
    public static func read(learner s: SettingSource, training t: SettingSource, seed defaultSeed: UInt64 = 1) throws -> LayerSettings {
        let kind = try s.value("learner") { try parseChoice($0, ["grbm", "rbm", "autoencoder", "kmeans", "spherical_kmeans"]) } ?? defaultLearner
        let hidden = try s.positive("hidden", s.int) ?? defaultHidden
        let seed = try s.seed("seed") ?? defaultSeed
        let learner: Learner
        if kind.hasSuffix("kmeans") {
            try s.refuse(rbmKeys + autoencoderKeys + ["irange"], "is not a K-means setting; K-means takes hidden (the centroids) and seed")
            let c = KMeans.Configuration(visibleCount: 1, hiddenCount: hidden, spherical: kind == "spherical_kmeans", seed: seed)
            try s.checked(at: "learner") { try c.validate() }
            learner = .kmeans(c)
        } else if kind == "autoencoder" {
            try s.refuse(rbmKeys, "is an RBM setting; an autoencoder takes \(autoencoderKeys.joined(separator: ", "))")
            var c = Autoencoder.Configuration(visibleCount: 1, hiddenCount: hidden)
            c.seed = seed
            if let v = try s.float("irange") { c.irange = v }
            if let v = try s.bool("tied") { c.tied = v }
            if let v = try s.value("encoder", Activation.init(parsingElementwise:)) { c.encoder = v }
            if let v = try s.value("decoder", Activation.init(parsingElementwise:)) { c.decoder = v }
            if let v = try s.value("loss", Autoencoder.Loss.init(parsing:)) { c.loss = v }
            if let v = try s.value("corruption", Autoencoder.Corruption.init(parsing:)) { c.corruption = v }
            if let v = try s.float("sparsity_weight") { c.sparsityWeight = v }
            if let v = try s.float("sparsity_target") { c.sparsityTarget = v }
            if let v = try s.float("contractive_weight") { c.contractiveWeight = v }
            if s.has("sparsity_target"), c.sparsityWeight == 0 { throw s.failure("sparsity_target", "acts only with a positive sparsity_weight") }
            try s.checked(at: "learner") { try c.validate() }
            learner = .autoencoder(c)
        } else {
            try s.refuse(autoencoderKeys, "is an autoencoder setting; an RBM takes \(rbmKeys.joined(separator: ", ")), irange, seed")
            let gaussian = kind == "grbm"
            let objective = try s.value("objective", RBM.Objective.init(parsing:)) ?? defaultObjective(gaussian: gaussian)
            var c = RBM.Configuration(visibleCount: 1, hiddenCount: hidden, visibleUnits: gaussian ? .gaussian : .binary, objective: objective)
            c.seed = seed
            if !gaussian { try s.refuse(["init_sigma", "sigma_lr_scale"], "applies to a GRBM's sigma; a binary RBM has none") }
            if case .scoreMatching = objective {} else {
                try s.refuse(["sigma_lr_scale"], "sigma is learned only by score matching (objective smd); under \(objective.text) it stays at init_sigma")
            }
            if let v = try s.float("irange") { c.irange = v }
            if let v = try s.float("init_hidden_bias") { c.initHiddenBias = v }
            if let v = try s.float("init_sigma") { c.initSigma = v }
            if let v = try s.float("sigma_lr_scale") { c.sigmaLearningRateScale = v }
            if let v = try s.bool("mean_visible") { c.meanVisible = v }
            try s.checked(at: s.has("objective") ? "objective" : "learner") { try c.validate() }
            learner = .rbm(c)
        }
        var training = try TrainingConfiguration.read(from: t)
        training.seed = seed
        return LayerSettings(learner: learner, training: training)
    }
}

extension TrainingConfiguration {
    /// Every key of the training loop.
    public static let keys = minibatchSGDKeys + ["lr_schedule", "momentum_start", "early_stopping", "prop_decrease", "patience", "checkpoint_every", "monitor_examples"]

    /// The training loop's settings from `s` (defaults for what is not given), validated.
    public static func read(from s: SettingSource) throws -> TrainingConfiguration {
        var t = TrainingConfiguration()
        try t.readMinibatchSGD(from: s)
        // Pretraining's momentum is constant unless a final momentum is given.
        if s.has("momentum"), !s.has("final_momentum") { t.finalMomentum = t.initialMomentum }
        if let v = try s.value("lr_schedule", LearningRateSchedule.init(parsing:)) { t.schedule = v }
        if let v = try s.positive("momentum_start", s.int) { t.momentumStartEpoch = v }
        if (s.has("momentum_start") || s.has("momentum_saturate")) && !s.has("final_momentum") {
            throw s.failure(s.has("momentum_start") ? "momentum_start" : "momentum_saturate", "shapes the ramp to final_momentum; give final_momentum too")
        }
        if let v = try s.positive("checkpoint_every", s.int) { t.checkpointEvery = v }
        if let v = try s.positive("monitor_examples", s.int) { t.monitorExamples = v }
        if let channel = try s.text("early_stopping") {
            var rule = EarlyStopping(channel: channel)
            if let v = try s.float("prop_decrease") { rule.proportionalDecrease = v }
            if let v = try s.positive("patience", s.int) { rule.patience = v }
            t.earlyStopping = rule
        } else {
            try s.refuse(["prop_decrease", "patience"], "acts only with early_stopping (the channel to watch)")
        }
        try s.checked(at: "") { try t.validate() }
        return t
    }
}
