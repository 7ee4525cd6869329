import ArgumentParser
import Foundation
import Strata

struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Run a command as MPI ranks that survive a lost process: restarted from the latest checkpoint by themselves; a process may join.",
        discussion: """
            The launcher runs `mpirun -np RANKS strata COMMAND`. When a process of the job is lost (killed, \
            out of memory, its machine gone) Open MPI ends the job; the launcher then starts it again from \
            the run folder's latest checkpoint, the lost process replaced, and says how many steps it redid. \
            Give the training --checkpoint-every-steps K (YAML checkpoint_every_steps) so a restart redoes at \
            most K steps rather than the epoch. Synchronous training resumes bit for bit, so a restarted run \
            ends with the model an undisturbed one gives; Downpour's replicas restart with the server's \
            parameters and AdaGrad state of the checkpoint. A job that fails with an error is not restarted.
              strata launch --ranks 3 -- finetune softmax --hidden 500 --distributed async:5:5 \\
                  --checkpoint-every-steps 50 --threads 1 --run runs/elastic
            A process joins a running job (one more replica: the job checkpoints and restarts with 4):
              strata launch --join runs/elastic
            Ctrl-C stops the job with its checkpoint; the same launch command resumes it. Each start is \
            recorded in RUN/launch.jsonl (ranks, how it ended, steps redone).
            """
    )

    @Option(help: "Processes in the job (mpirun -np; default \(ElasticLaunch.Settings().ranks)).")
    var ranks: String?
    @Option(help: "Restarts after lost processes before giving up (default \(ElasticLaunch.Settings().restarts)).")
    var restarts: String?
    @Option(help: "Open MPI's mpirun: a path or a name on PATH (default \(ElasticLaunch.Settings().mpirun)).")
    var mpirun: String?
    @Option(help: "More mpirun options, in one string after =, such as --mpirun-options=\"--hostfile hosts --mca btl tcp,self\".")
    var mpirunOptions: String?
    @Option(help: "Ask the launcher running the job in this run folder to add one process, then exit.")
    var join: String?
    @Argument(parsing: .postTerminator, help: "The strata command each rank runs, after --.")
    var command: [String] = []

    func run() throws {
        if let join {
            let pid = try ElasticLaunch.join(folder: join)
            print("asked the launcher (process \(pid)) to add a process: the job checkpoints and restarts with one more rank")
            return
        }
        var settings = ElasticLaunch.Settings()
        try settingsFailure {
            let flags = FlagSettings(["ranks": ranks, "restarts": restarts, "mpirun": mpirun, "mpirun_options": mpirunOptions])
            settings = try ElasticLaunch.Settings.read(from: flags, command: command)
            try settings.validate()
        }
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let code = try ElasticLaunch.run(settings, executable: executable) { print($0) }
        if code != 0 { Foundation.exit(code) }
    }
}
