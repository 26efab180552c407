import ReproTensor

/// Holds back the module reports of a pass that runs several pyramid levels through shared layers
/// in one call, and hands them to the real observers level by level afterwards.
///
/// A model that shares layers over levels (RetinaNet's head) reports, when it runs level by level,
/// every module of level 0, then every module of level 1, and so on. Run layer by layer over all
/// levels at once, the same outputs appear in another order. Each level's ``scope(_:level:)``
/// collects that level's reports (path, output and operation) instead of passing them on;
/// ``replay(level:)`` then sends them, in the order they came, to the observers of the scope this
/// object was made for, and drops its references to the outputs, so an observer that keeps
/// nothing lets them go at once. The outputs are the same tensors either way: only the moment
/// observers see them changes.
package final class LevelReports {
    private struct Report {
        var path: String
        var output: Tensor
        var operation: String
    }

    private let observer: ModuleObserver?
    private let operationObserver: ModuleOperationObserver?
    private var levels: [[Report]]

    /// Collects reports for `count` levels, to be replayed to `scope`'s observers.
    package init(levels count: Int, of scope: ModuleScope) {
        observer = scope.observer
        operationObserver = scope.operationObserver
        levels = Array(repeating: [], count: count)
    }

    /// `scope` (same path and algorithm overrides) with level `level`'s collecting hook in place of
    /// its observers; the operation is described only when the real observers want it.
    package func scope(_ scope: ModuleScope, level: Int) -> ModuleScope {
        let describe = operationObserver != nil
        return ModuleScope(path: scope.path, operationObserver: { [self] path, output, operation in
            levels[level].append(Report(path: path, output: output, operation: describe ? operation() : ""))
        }, algorithmOverrides: scope.algorithmOverrides)
    }

    /// The number of reports collected for `level` and not replayed yet.
    package func count(level: Int) -> Int { levels[level].count }

    /// Sends level `level`'s reports to the observers, in the order they were made, and forgets them.
    package func replay(level: Int) {
        let reports = levels[level]
        levels[level] = []
        for r in reports {
            observer?(r.path, r.output)
            operationObserver?(r.path, r.output, { r.operation })
        }
    }
}
