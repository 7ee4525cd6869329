import ArgumentParser
import Strata

/// Softmax fine-tuning's settings, by the same names as YAML's `finetune: {softmax: ...}`.
struct FineTuningOptions: ParsableArguments {
    @Option(help: "Examples per minibatch (default 100).")
    var batchSize: String?
    @Option(help: "Learning rate (default 0.1).")
    var learningRate: String?
    @Option(help: "The learning rate is multiplied by this after each epoch (default 1; the schedule exponential:DECAY).")
    var learningRateDecay: String?
    @Option(help: "Instead of --learning-rate-decay: constant, linear:FINAL_FRACTION:EPOCH, exponential:FACTOR[:MIN] or monitor.")
    var lrSchedule: String?
    @Option(help: "momentum (default: SGD with the momentum settings), nesterov, adam (Kingma and Ba's 0.9, 0.999, 1e-8), adam:BETA1:BETA2:EPSILON, or lbfgs / lbfgs:MEMORY (full-batch L-BFGS with a line search, 10 pairs by default: each epoch is one iteration, --batch-size the chunk of its gradient; under mpirun the ranks take chunks as they finish, as Sandblaster). Adam ignores the momentum settings; its --learning-rate defaults to the paper's 0.001. L-BFGS takes no learning rate, momentum, dropout, batch norm or augmentation.")
    var optimizer: String?
    @Option(help: "Batch normalization on every hidden layer, before its nonlinearity: true or false (default false). Folded into the layers in the saved classifier.")
    var batchNorm: String?
    @Option(help: "Batch normalization: added to each batch variance (default 1e-5).")
    var batchNormEpsilon: String?
    @Option(help: "Batch normalization: weight of the past in the running mean and variance (default 0.9).")
    var batchNormMomentum: String?
    @Option(help: "Distillation: a saved classifier (softmax or SVM, classifier.safetensors) whose outputs at --temperature the network also learns from (Hinton et al. 2015).")
    var teacher: String?
    @Option(help: "Distillation: the temperature that softens the teacher's and the student's outputs (default 4).")
    var temperature: String?
    @Option(help: "Distillation: the weight of the teacher's term, the labels getting 1 minus it (default 0.9).")
    var softWeight: String?
    @Option(help: "Augmentation: mirror each training image left-right with probability 1/2, true or false (default false; only for data where a mirrored image keeps its label).")
    var augmentFlip: String?
    @Option(help: "Augmentation: translate each training image by up to this many pixels each way, drawn per minibatch (default 0).")
    var augmentShift: String?
    @Option(help: "Augmentation: fill what a translation uncovers with zero (default) or edge (the border repeated).")
    var augmentPadding: String?
    @Option(help: "Momentum at epoch 1 (default 0.5).")
    var momentum: String?
    @Option(help: "Momentum reached at --momentum-saturate (default 0.9).")
    var finalMomentum: String?
    @Option(help: "Epoch the momentum ramp ends (default 10).")
    var momentumSaturate: String?
    @Option(help: "L2 weight decay (default 0).")
    var weightDecay: String?
    @Option(help: "Dropout probability of input values (default 0).")
    var inputDropout: String?
    @Option(help: "Dropout probability of hidden units (default 0).")
    var hiddenDropout: String?
    @Option(help: "Limit each unit's incoming weight norm (pylearn2's max_col_norm; default: none).")
    var maxColumnNorm: String?
    @Option(help: "The most epochs (default 50).")
    var epochs: String?
    @Option(help: "Stop after this many epochs without a better validation error (default 10).")
    var patience: String?
    @Option(help: "Seed of initialization, shuffling and dropout (default 1).")
    var seed: String?
    @Option(help: "Stop as diverged when the objective rises above its lowest value by more than this many times the larger of its lowest and first epoch values (default 1000); NaN always stops.")
    var divergenceFactor: String?
    @Flag(help: "Draw random numbers per example, as training across MPI ranks does: one process with batch N·b then trains as N ranks with batch b.")
    var randomPerExample = false
    @Option(help: "Under mpirun: sync (every step combined by allreduce; the default) or async[:FETCH:PUSH] (Downpour SGD: replicas fetch the parameter server's weights every FETCH steps and push their accrued gradients every PUSH steps, AdaGrad on the server; default 1:1).")
    var distributed: String?

    var settings: [String: String?] {
        ["batch_size": batchSize, "learning_rate": learningRate, "learning_rate_decay": learningRateDecay, "lr_schedule": lrSchedule, "momentum": momentum,
         "final_momentum": finalMomentum, "momentum_saturate": momentumSaturate, "weight_decay": weightDecay, "input_dropout": inputDropout,
         "hidden_dropout": hiddenDropout, "max_column_norm": maxColumnNorm, "epochs": epochs, "patience": patience, "seed": seed,
         "divergence_factor": divergenceFactor, "optimizer": optimizer, "random_per_example": randomPerExample ? "true" : nil, "distributed": distributed,
         "batch_norm": batchNorm, "batch_norm_epsilon": batchNormEpsilon, "batch_norm_momentum": batchNormMomentum,
         "teacher": teacher, "temperature": temperature, "soft_weight": softWeight,
         "augment_flip": augmentFlip, "augment_shift": augmentShift, "augment_padding": augmentPadding]
    }
}

/// The linear SVM's settings, by the same names as YAML's `finetune: {svm: ...}`.
struct SVMOptions: ParsableArguments {
    @Option(help: "The SVM's C; without it, chosen on the validation examples from --c-grid.")
    var c: String?
    @Option(help: "Candidate values of C, comma-separated (default 0.001,0.01,0.1,1).")
    var cGrid: String?
    @Option(help: "squared_hinge (L2-SVM, the default) or hinge.")
    var loss: String?
    @Option(help: "auto (the default: primal for the squared hinge with more examples than features and at most 4096 features, else dual), primal (Newton, a few dozen passes over the data) or dual (coordinate descent, LIBLINEAR's).")
    var solver: String?
    @Option(help: "Solver tolerance, LIBLINEAR's eps (default 0.01 for dual: the projected gradient's spread; 0.0001 for primal: the gradient's norm, relative).")
    var tolerance: String?
    @Option(help: "The most passes over the data (dual) or Newton iterations (primal) per class (default 1000).")
    var maxIterations: String?
    @Option(help: "Standardization: added to each feature's standard deviation (default 0.01).")
    var stdEps: String?

    var settings: [String: String?] {
        ["c": c, "c_grid": cGrid, "loss": loss, "solver": solver, "tolerance": tolerance, "max_iterations": maxIterations, "std_eps": stdEps]
    }
}
