import _ReproKernelHints

/// The floating-point control state of a thread: rounding mode and how subnormal numbers are
/// treated (MXCSR on x86-64, FPCR on arm64).
///
/// Repro's kernels assume the IEEE defaults every C runtime starts a thread with: round to
/// nearest (ties to even), subnormal inputs and results kept, every exception masked
/// (``standard``). A host process can change them for its threads — code built with
/// `-ffast-math` sets flush-to-zero and denormals-are-zero when it is loaded — and then the same
/// kernels give other bits. Repro therefore guarantees the mode itself rather than trusting it:
/// every parallel job sets the standard mode on each thread that runs a part of it (the caller
/// included) and restores the caller's mode afterwards, and `RetinaNet.detect` runs wholly in
/// the standard mode (``withStandardMode(_:)``). `repro doctor` reports the mode it finds.
///
/// ```swift
/// let fp = FloatingPointEnvironment.current
/// print(fp.isStandard, fp)   // true "round to nearest even, subnormals kept"
/// let y = try FloatingPointEnvironment.withStandardMode { try x.matmul(w) }
/// ```
public struct FloatingPointEnvironment: Sendable, Equatable, CustomStringConvertible {
    /// How results are rounded.
    public enum RoundingMode: String, Sendable, Equatable {
        /// Round to nearest, ties to even (IEEE default).
        case toNearestEven = "to nearest even"
        /// Toward negative infinity.
        case downward
        /// Toward positive infinity.
        case upward
        /// Toward zero.
        case towardZero = "toward zero"
    }

    /// The control bits (MXCSR without its status flags on x86-64; FPCR on arm64; 0 elsewhere).
    public let controlWord: UInt32

    /// Creates a value from raw control bits (status flags are dropped).
    public init(controlWord: UInt32) {
        self.controlWord = controlWord & Self.controlMask
    }

    #if arch(x86_64) || arch(i386)
    static let controlMask: UInt32 = 0xFFC0
    static let standardWord: UInt32 = 0x1F80
    static let flushToZeroBit: UInt32 = 1 << 15
    static let denormalsAreZeroBit: UInt32 = 1 << 6
    #else
    static let controlMask: UInt32 = 0xFFFF_FFFF
    static let standardWord: UInt32 = 0
    static let flushToZeroBit: UInt32 = 1 << 24      // FPCR.FZ (arm64): flushes inputs and results
    static let denormalsAreZeroBit: UInt32 = 1 << 24
    #endif

    /// The IEEE defaults Repro's kernels assume.
    public static let standard = FloatingPointEnvironment(controlWord: standardWord)

    /// The state of the calling thread.
    public static var current: FloatingPointEnvironment {
        FloatingPointEnvironment(controlWord: repro_fp_control_read())
    }

    /// Subnormal results are replaced by zero (x86 FTZ, arm64 FZ).
    public var flushesSubnormalResults: Bool { controlWord & Self.flushToZeroBit != 0 }

    /// Subnormal inputs are read as zero (x86 DAZ, arm64 FZ).
    public var treatsSubnormalInputsAsZero: Bool { controlWord & Self.denormalsAreZeroBit != 0 }

    /// The rounding mode.
    public var roundingMode: RoundingMode {
        #if arch(x86_64) || arch(i386)
        let rc = (controlWord >> 13) & 3
        #elseif arch(arm64)
        let rc = [0, 2, 1, 3][Int((controlWord >> 22) & 3)]   // FPCR.RMode: RN, RP, RM, RZ
        #else
        let rc: UInt32 = 0
        #endif
        switch rc {
        case 0: return .toNearestEven
        case 1: return .downward
        case 2: return .upward
        default: return .towardZero
        }
    }

    /// Whether this is ``standard``.
    public var isStandard: Bool { controlWord == Self.standardWord }

    /// E.g. `"round to nearest even, subnormals kept"`, or with FTZ/DAZ named, and the raw word
    /// when other control bits differ from the standard ones.
    public var description: String {
        var parts = ["round \(roundingMode.rawValue)"]
        switch (flushesSubnormalResults, treatsSubnormalInputsAsZero) {
        case (false, false): parts.append("subnormals kept")
        case (true, true): parts.append("flush-to-zero and denormals-are-zero ON")
        case (true, false): parts.append("flush-to-zero ON")
        case (false, true): parts.append("denormals-are-zero ON")
        }
        let known = Self.flushToZeroBit | Self.denormalsAreZeroBit | Self.roundingBits
        if controlWord & ~known != Self.standardWord & ~known {
            parts.append("control word 0x\(String(controlWord, radix: 16)) (standard 0x\(String(Self.standardWord, radix: 16)))")
        }
        return parts.joined(separator: ", ")
    }

    #if arch(x86_64) || arch(i386)
    static let roundingBits: UInt32 = 3 << 13
    #else
    static let roundingBits: UInt32 = 3 << 22
    #endif

    /// Sets the calling thread's control state (tests and hosts; Repro's kernels never need it).
    @_spi(Kernels) public static func set(_ environment: FloatingPointEnvironment) {
        #if arch(x86_64) || arch(i386)
        // Keep the status flags as they are; replace the control bits.
        repro_fp_control_write((repro_fp_control_read() & ~controlMask) | environment.controlWord)
        #else
        repro_fp_control_write(environment.controlWord)
        #endif
    }

    /// The mode a thread had before ``enterStandardMode()``; ``restore()`` puts it back.
    public struct SavedMode: Sendable {
        let word: UInt32?

        /// Restores the calling thread's saved mode (nothing to do when it was already standard).
        public func restore() {
            if let word { repro_fp_control_write(word) }
        }
    }

    /// Puts the calling thread in the ``standard`` mode and returns what to restore, for a
    /// function that runs kernels outside the thread pool too:
    ///
    /// ```swift
    /// let saved = FloatingPointEnvironment.enterStandardMode()
    /// defer { saved.restore() }
    /// ```
    public static func enterStandardMode() -> SavedMode {
        let word = repro_fp_control_read()
        guard FloatingPointEnvironment(controlWord: word).isStandard else {
            set(.standard)
            return SavedMode(word: word)
        }
        return SavedMode(word: nil)
    }

    /// Runs `body` with the calling thread in the ``standard`` mode, then restores the mode it had.
    /// Costs two register reads when the mode is already standard.
    public static func withStandardMode<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let saved = repro_fp_control_read()
        guard FloatingPointEnvironment(controlWord: saved).isStandard else {
            set(.standard)
            defer { repro_fp_control_write(saved) }
            return try body()
        }
        return try body()
    }
}
