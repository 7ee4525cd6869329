import ArgumentParser
import Strata

/// Softmax fine-tuning's settings, by the same names as YAML's `finetune: {softmax: ...}`.
struct FineTuningOptions: ParsableArguments {
    @OptionGroup var sgd: SGDOptions
    @Option(help: "The learning rate is multiplied by this after each epoch (default \(FineTuningConfiguration().learningRateDecay); the schedule exponential:DECAY).")
    var learningRateDecay: String?
    @Option(help: "Instead of --learning-rate-decay: constant, linear:FINAL_FRACTION:EPOCH, exponential:FACTOR[:MIN] or monitor.")
    var lrSchedule: String?
    @Option(help: "Batch normalization on every hidden layer, before its nonlinearity: true or false (default false). Folded into the layers in the saved classifier.")
    var batchNorm: String?
    @Option(help: "Batch normalization: added to each batch variance (default \(FineTuningConfiguration().batchNormEpsilon)).")
    var batchNormEpsilon: String?
    @Option(help: "Batch normalization: weight of the past in the running mean and variance (default \(FineTuningConfiguration().batchNormMomentum)).")
    var batchNormMomentum: String?
    @Option(help: "Distillation: a saved classifier (softmax or SVM, classifier.safetensors) whose outputs at --temperature the network also learns from (Hinton et al. 2015).")
    var teacher: String?
    @Option(help: "Distillation: the temperature that softens the teacher's and the student's outputs (default \(FineTuningConfiguration().temperature)).")
    var temperature: String?
    @Option(help: "Distillation: the weight of the teacher's term, the labels getting 1 minus it (default \(FineTuningConfiguration().softWeight)).")
    var softWeight: String?
    @Option(help: "Augmentation: mirror each training image left-right with probability 1/2, true or false (default false; only for data where a mirrored image keeps its label).")
    var augmentFlip: String?
    @Option(help: "Augmentation: translate each training image by up to this many pixels each way, drawn per minibatch (default \(FineTuningConfiguration().augmentation.shift)).")
    var augmentShift: String?
    @Option(help: "Augmentation: fill what a translation uncovers with zero (default) or edge (the border repeated).")
    var augmentPadding: String?
    @Option(help: "Dropout probability of input values (default \(FineTuningConfiguration().inputDropout)).")
    var inputDropout: String?
    @Option(help: "Dropout probability of hidden units (default \(FineTuningConfiguration().hiddenDropout)).")
    var hiddenDropout: String?
    @Option(help: "Limit each unit's incoming weight norm (pylearn2's max_col_norm; default: none).")
    var maxColumnNorm: String?
    @Option(help: "Stop after this many epochs without a better validation error (default \(FineTuningConfiguration().patience)).")
    var patience: String?
    @Option(help: "At least this many updates: with few training examples (--labels-per-class) the epoch limit rises to make them (default \(FineTuningConfiguration().minUpdates): none).")
    var minUpdates: String?
    @Option(help: "Seed of initialization, shuffling and dropout (default \(FineTuningConfiguration().seed)).")
    var seed: String?

    var settings: [String: String?] {
        sgd.settings.merging(["learning_rate_decay": learningRateDecay, "lr_schedule": lrSchedule, "input_dropout": inputDropout,
                              "hidden_dropout": hiddenDropout, "max_column_norm": maxColumnNorm, "patience": patience, "min_updates": minUpdates, "seed": seed,
                              "batch_norm": batchNorm, "batch_norm_epsilon": batchNormEpsilon, "batch_norm_momentum": batchNormMomentum,
                              "teacher": teacher, "temperature": temperature, "soft_weight": softWeight,
                              "augment_flip": augmentFlip, "augment_shift": augmentShift, "augment_padding": augmentPadding]) { a, _ in a }
    }
}

/// The linear SVM's settings, by the same names as YAML's `finetune: {svm: ...}`.
struct SVMOptions: ParsableArguments {
    @Option(help: "The SVM's C; without it, chosen on the validation examples from --c-grid.")
    var c: String?
    @Option(help: "Candidate values of C, comma-separated (default \(SVMFineTuning.defaultCGrid.map { "\($0)" }.joined(separator: ","))).")
    var cGrid: String?
    @Option(help: "squared_hinge (L2-SVM, the default) or hinge.")
    var loss: String?
    @Option(help: "auto (the default: primal for the squared hinge with more examples than features and at most 4096 features, else dual), primal (Newton, a few dozen passes over the data) or dual (coordinate descent, LIBLINEAR's).")
    var solver: String?
    @Option(help: "Solver tolerance, LIBLINEAR's eps (default 0.01 for dual: the projected gradient's spread; 0.0001 for primal: the gradient's norm, relative).")
    var tolerance: String?
    @Option(help: "The most passes over the data (dual) or Newton iterations (primal) per class (default \(LinearSVM.Settings().maxIterations)).")
    var maxIterations: String?
    @Option(help: "Standardization: added to each feature's standard deviation (default \(SVMFineTuning.defaultStdEps)).")
    var stdEps: String?

    var settings: [String: String?] {
        ["c": c, "c_grid": cGrid, "loss": loss, "solver": solver, "tolerance": tolerance, "max_iterations": maxIterations, "std_eps": stdEps]
    }
}
