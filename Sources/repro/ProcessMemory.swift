#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// This process's resident memory, for the benchmark hooks (`repro detect --profile`, `repro train-bench`).
enum ProcessMemory {
    /// The peak resident set size so far, in kB: `VmHWM` from `/proc/self/status` where there is
    /// one (Linux), else `getrusage`'s `ru_maxrss` (kB on Linux, bytes on Darwin); nil if neither answers.
    static func peakKilobytes() -> Int? {
        if let kb = statusKilobytes("VmHWM") { return kb }
        guard let usage = selfUsage(), usage.ru_maxrss > 0 else { return nil }
        #if canImport(Darwin)
        return Int(usage.ru_maxrss) / 1024
        #else
        return Int(usage.ru_maxrss)
        #endif
    }

    /// Page faults of this process so far (minor + major, from `getrusage`), or nil if it does
    /// not answer. The difference over a pass counts the pages the kernel had to map for it.
    static func pageFaults() -> Int? {
        selfUsage().map { Int($0.ru_minflt) + Int($0.ru_majflt) }
    }

    /// `getrusage` for this process, or nil if it fails.
    private static func selfUsage() -> rusage? {
        var usage = rusage()
        #if canImport(Glibc)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        return getrusage(who, &usage) == 0 ? usage : nil
    }

    /// A memory line of `/proc/self/status` (`VmRSS`, `VmHWM`) in kB; nil where the file or the line is missing.
    static func statusKilobytes(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return kilobytes(field, inStatus: text)
    }

    /// The value of `field` in the text of a `/proc/PID/status` file, in kB. The kernel writes such a
    /// line as the name, a colon, a tab, the number right-aligned in 8 columns and ` kB`
    /// (`VmHWM:\t  515824 kB`): the number is the first whitespace-separated word after the colon.
    static func kilobytes(_ field: String, inStatus text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let words = line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 2, words[1] == "kB", let kb = Int(words[0]), kb >= 0 else { return nil }
            return kb
        }
        return nil
    }
}
