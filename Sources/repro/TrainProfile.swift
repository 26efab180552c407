import Foundation
import Repro

/// `repro train --profile`: where the time of a run went, as a table (stderr) and a JSON object
/// (the `{"profile": …}` line of `--log`).
struct TrainProfile: Encodable {
    typealias Phase = TrainingPhaseTimes.Phase

    /// The command's own phases around the steps.
    struct CommandPhases {
        /// From the start of the command to the first step: listing the data, building the model.
        var startup = Phase()
        /// Log lines and `--digest-every` digests.
        var log = Phase()
        /// Periodic checkpoints.
        var checkpoint = Phase()
        /// Validation after each epoch.
        var validation = Phase()
        /// The last checkpoint, the export and the final digest.
        var finish = Phase()
    }

    /// One row: a phase's wall and process-CPU seconds, and per step.
    struct Row: Encodable {
        var phase: String
        var wallSeconds: Double
        var processCpuSeconds: Double?
        var wallPerStep: Double
    }

    var steps: Int
    var seconds: Double
    var rows: [Row]
    /// Loader stages: seconds summed over the threads that ran them (concurrent with the steps when there are workers).
    var loaderThreadSeconds: [String: Double]

    init(_ times: TrainingPhaseTimes, _ command: CommandPhases, seconds: Double) {
        steps = times.steps
        self.seconds = seconds
        let perStep = 1 / Double(max(times.steps, 1))
        func row(_ name: String, _ p: Phase) -> Row {
            Row(phase: name, wallSeconds: p.wall, processCpuSeconds: p.processCPU, wallPerStep: p.wall * perStep)
        }
        rows = [row("startup", command.startup), row("batch_wait", times.batchWait), row("forward_backward", times.forwardBackward),
                row("optimizer", times.optimizer), row("checks", times.checks), row("log", command.log),
                row("checkpoint", command.checkpoint), row("validation", command.validation), row("finish", command.finish)]
        loaderThreadSeconds = ["decode": times.decode, "augment": times.augment, "collate": times.collate]
    }

    /// Aligned text for stderr.
    var table: String {
        var lines = ["profile: \(steps) steps in \(String(format: "%.2f", seconds)) s",
                     "phase             wall s   s/step  process CPU s  CPU/wall"]
        for r in rows {
            let cpu = r.processCpuSeconds ?? 0
            lines.append(r.phase.padding(toLength: 16, withPad: " ", startingAt: 0)
                + String(format: " %7.2f %8.3f %14.2f %9.2f", r.wallSeconds, r.wallPerStep, cpu, r.wallSeconds > 0 ? cpu / r.wallSeconds : 0))
        }
        let perStep = 1 / Double(max(steps, 1))
        lines.append("loader threads (summed):" + ["decode", "augment", "collate"].map {
            String(format: " %@ %.2f s (%.3f s/step)", $0 as NSString, loaderThreadSeconds[$0]!, loaderThreadSeconds[$0]! * perStep)
        }.joined(separator: ","))
        return lines.joined(separator: "\n")
    }

    /// The log line.
    struct Record: Encodable { var profile: TrainProfile }
}
