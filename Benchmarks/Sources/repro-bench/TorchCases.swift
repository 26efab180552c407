import Repro

/// torch-compatible fills; wired once `TorchGenerator` lands.
func rngTorchCases(count: Int, repeats: Int, into results: inout [(String, Double)]) {
}
