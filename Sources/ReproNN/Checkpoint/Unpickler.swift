/// A restricted unpickler for PyTorch state dicts.
///
/// It implements the pickle opcodes that `torch.save` emits for a state dict
/// (protocols 2–5) and resolves globals only from a fixed allow-list:
/// `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
/// `torch._utils._rebuild_parameter`, and the typed storage classes
/// (`torch.FloatStorage` …). Any other global, any `REDUCE`/`NEWOBJ` on
/// something else, and any opcode outside the set is a typed error — nothing
/// named by the file is ever executed or even looked up.
///
/// While the stream runs, containers live in arenas and the stack holds flat
/// ``Slot``s that name them by index, so a hostile pickle that appends a list
/// to itself or nests a million tuples builds neither a reference cycle (a
/// leak) nor a deeply recursive Swift value (a stack overflow when freed).
/// At `STOP` the result is copied out as a ``Value`` tree, at most
/// ``maxDepth`` deep and ``objectBudget(forBytes:)`` values large. Shared
/// references are copied, so the budget, which grows with the stream's size,
/// also stops a small pickle that doubles a tuple 60 times.
struct Unpickler {
    /// An unpickled value: an acyclic tree.
    indirect enum Value {
        case none
        case bool(Bool)
        case int(Int64)
        /// An integer wider than 64 bits (little-endian two's complement bytes).
        case bigInt([UInt8])
        case float(Double)
        case string(String)
        case bytes([UInt8])
        case tuple([Value])
        case list(ListBox)
        case dict(DictBox)
        case global(module: String, name: String)
        /// A persistent id resolved by the caller (a storage reference).
        case storage(StorageRef)
        /// A tensor view rebuilt by `_rebuild_tensor_v2`.
        case tensor(TensorRef)
        case mark
    }

    /// An unpickled list.
    final class ListBox { var items: [Value] = [] }
    /// An unpickled dict or OrderedDict; keeps insertion order.
    final class DictBox {
        var keys: [Value] = []
        var values: [Value] = []
        /// Attributes set by BUILD (OrderedDict `_metadata`).
        var attributes: DictBox?
    }

    /// A storage named by a persistent id.
    struct StorageRef {
        var dtype: CheckpointDType
        var key: String
        var elementCount: Int
    }

    /// A tensor view of a storage.
    struct TensorRef {
        var storage: StorageRef
        var offset: Int
        var shape: [Int]
        var strides: [Int]
    }

    /// A value on the pickle stack while the stream runs; containers are arena indices.
    private enum Slot {
        case none
        case bool(Bool)
        case int(Int64)
        case bigInt([UInt8])
        case float(Double)
        case string(String)
        case bytes([UInt8])
        case tuple(Int)
        case list(Int)
        case dict(Int)
        case global(module: String, name: String)
        case storage(StorageRef)
        case tensor(TensorRef)
        case mark
    }

    /// A dict in the arena (pickle's reference semantics: SETITEM through any alias).
    private struct DictSlot {
        var keys: [Slot] = []
        var values: [Slot] = []
        /// Position of each string key, so that repeated keys replace in O(1).
        var stringKeys: [String: Int] = [:]
        /// Arena index of the BUILD attributes dict.
        var attributes: Int?

        mutating func set(_ k: Slot, _ v: Slot) {
            if case .string(let s) = k {
                if let i = stringKeys[s] { values[i] = v; return }
                stringKeys[s] = keys.count
            }
            keys.append(k)
            values.append(v)
        }
    }

    let data: ArraySlice<UInt8>
    var pos: Int
    /// Upper bound on memo entries and stack depth, against hostile files.
    static let limit = 10_000_000
    /// Deepest nesting of the unpickled object (a state dict needs 4); deeper
    /// (or recursive) structures are refused.
    static let maxDepth = 1000
    /// Most values in any unpickled object (a state dict has about two per tensor).
    static let maxObjects = 2_000_000

    /// Most values the object unpickled from `count` bytes may have: 8 per byte
    /// (torch's pickles have fewer than one: every value but a memo reference
    /// costs at least one opcode byte, and memo references are 2–5 bytes), so
    /// that a kilobyte cannot expand to millions of values.
    static func objectBudget(forBytes count: Int) -> Int {
        min(maxObjects, 1024 + 8 * count)
    }

    init(_ data: ArraySlice<UInt8>) {
        self.data = data
        pos = data.startIndex
    }

    /// Runs the stream to STOP and returns the top of the stack.
    mutating func load() throws(CheckpointError) -> Value {
        var stack: [Slot] = []
        var memo: [Int: Slot] = [:]
        var tuples: [[Slot]] = []
        var lists: [[Slot]] = []
        var dicts: [DictSlot] = []

        func fail(_ r: String) -> CheckpointError { .invalidPickle(offset: pos - data.startIndex, reason: r) }
        func pop() throws(CheckpointError) -> Slot {
            guard let v = stack.popLast() else { throw fail("stack underflow") }
            return v
        }
        func popMark() throws(CheckpointError) -> [Slot] {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else {
                throw fail("no MARK on the stack")
            }
            let items = Array(stack[(m + 1)...])
            stack.removeSubrange(m...)
            return items
        }
        func tuple(_ items: [Slot]) -> Slot {
            tuples.append(items)
            return .tuple(tuples.count - 1)
        }
        func newDict() -> Int {
            dicts.append(DictSlot())
            return dicts.count - 1
        }
        func ints(_ v: Slot) -> [Int]? {
            guard case .tuple(let id) = v else { return nil }
            var out: [Int] = []
            for x in tuples[id] {
                guard case .int(let i) = x else { return nil }
                out.append(Int(i))
            }
            return out
        }
        func persistentStorage(_ pid: Slot) throws(CheckpointError) -> Slot {
            // ('storage', <storage class>, key, location, numel[, view_metadata])
            guard case .tuple(let id) = pid else { throw fail("persistent id is not a storage reference") }
            let t = tuples[id]
            guard t.count >= 5, case .string("storage") = t[0],
                  case .global("torch", let cls) = t[1], let dtype = CheckpointDType(torchStorage: cls),
                  case .string(let key) = t[2], case .int(let numel) = t[4], numel >= 0
            else { throw fail("persistent id is not a storage reference") }
            if t.count > 5, case .none = t[5] {} else if t.count > 5 {
                throw fail("storage views (legacy view_metadata) are not supported")
            }
            return .storage(StorageRef(dtype: dtype, key: key, elementCount: Int(numel)))
        }
        func call(_ callable: Slot, _ args: Slot) throws(CheckpointError) -> Slot {
            guard case .global(let module, let name) = callable, case .tuple(let id) = args else {
                throw fail("REDUCE of something that is not an allowed global")
            }
            let a = tuples[id]
            switch (module, name) {
            case ("collections", "OrderedDict"):
                guard a.isEmpty else { throw fail("OrderedDict with constructor arguments") }
                return .dict(newDict())
            case ("torch._utils", "_rebuild_tensor_v2"):
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                guard a.count >= 4, case .storage(let s) = a[0], case .int(let off) = a[1],
                      let shape = ints(a[2]), let strides = ints(a[3]), shape.count == strides.count, off >= 0
                else { throw fail("malformed _rebuild_tensor_v2 arguments") }
                return .tensor(TensorRef(storage: s, offset: Int(off), shape: shape, strides: strides))
            case ("torch._utils", "_rebuild_parameter"):
                // (data, requires_grad, backward_hooks)
                guard let first = a.first, case .tensor = first else { throw fail("malformed _rebuild_parameter arguments") }
                return first
            default:
                throw fail("calling \(module).\(name) is not allowed")
            }
        }
        /// Copies a slot out of the arenas as a `Value` tree.
        var objects = 0
        let budget = Self.objectBudget(forBytes: data.count)
        func resolve(_ s: Slot, depth: Int) throws(CheckpointError) -> Value {
            objects += 1
            guard objects <= budget else { throw .tooLarge("the pickle expands to more than \(budget) values") }
            guard depth <= Self.maxDepth else { throw fail("objects nested deeper than \(Self.maxDepth) (or recursive)") }
            switch s {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .bigInt(let b): return .bigInt(b)
            case .float(let f): return .float(f)
            case .string(let t): return .string(t)
            case .bytes(let b): return .bytes(b)
            case .global(let m, let n): return .global(module: m, name: n)
            case .storage(let r): return .storage(r)
            case .tensor(let t): return .tensor(t)
            case .mark: return .mark
            case .tuple(let id):
                var out: [Value] = []
                for x in tuples[id] { out.append(try resolve(x, depth: depth + 1)) }
                return .tuple(out)
            case .list(let id):
                let box = ListBox()
                for x in lists[id] { box.items.append(try resolve(x, depth: depth + 1)) }
                return .list(box)
            case .dict(let id):
                return .dict(try resolveDict(id, depth: depth))
            }
        }
        func resolveDict(_ id: Int, depth: Int) throws(CheckpointError) -> DictBox {
            let box = DictBox()
            let d = dicts[id]
            for (k, v) in zip(d.keys, d.values) {
                box.keys.append(try resolve(k, depth: depth + 1))
                box.values.append(try resolve(v, depth: depth + 1))
            }
            if let a = d.attributes {
                objects += 1
                guard objects <= budget else { throw .tooLarge("the pickle expands to more than \(budget) values") }
                guard depth + 1 <= Self.maxDepth else { throw fail("objects nested deeper than \(Self.maxDepth) (or recursive)") }
                box.attributes = try resolveDict(a, depth: depth + 1)
            }
            return box
        }

        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                     // PROTO
            case 0x95: _ = try bytes(8)                                   // FRAME
            case 0x2e: return try resolve(try pop(), depth: 0)            // STOP
            case 0x28: stack.append(.mark)                                // MARK
            case 0x4e: stack.append(.none)                                // NONE
            case 0x88: stack.append(.bool(true))                          // NEWTRUE
            case 0x89: stack.append(.bool(false))                         // NEWFALSE
            case 0x4b: stack.append(.int(Int64(try byte())))              // BININT1
            case 0x4d: stack.append(.int(Int64(try uint(2))))             // BININT2
            case 0x4a: stack.append(.int(Int64(Int32(bitPattern: UInt32(try uint(4))))))  // BININT
            case 0x8a:                                                    // LONG1
                let n = Int(try byte())
                stack.append(try long(bytes(n)))
            case 0x47:                                                    // BINFLOAT (big-endian)
                let b = try bytes(8)
                stack.append(.float(Double(bitPattern: b.reduce(0) { $0 << 8 | UInt64($1) })))
            case 0x58: stack.append(.string(try utf8(bytes(Int(try uint(4))))))    // BINUNICODE
            case 0x8c: stack.append(.string(try utf8(bytes(Int(try byte())))))     // SHORT_BINUNICODE
            case 0x8d:                                                    // BINUNICODE8
                stack.append(.string(try utf8(bytes(try count(uint(8))))))
            case 0x43: stack.append(.bytes(Array(try bytes(Int(try byte())))))     // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(Array(try bytes(Int(try uint(4))))))    // BINBYTES
            case 0x29: stack.append(tuple([]))                            // EMPTY_TUPLE
            case 0x85: stack.append(tuple([try pop()]))                   // TUPLE1
            case 0x86: let b = try pop(); let a = try pop(); stack.append(tuple([a, b]))  // TUPLE2
            case 0x87: let c = try pop(); let b = try pop(); let a = try pop(); stack.append(tuple([a, b, c]))
            case 0x74: stack.append(tuple(try popMark()))                // TUPLE
            case 0x5d: lists.append([]); stack.append(.list(lists.count - 1))  // EMPTY_LIST
            case 0x7d: stack.append(.dict(newDict()))                     // EMPTY_DICT
            case 0x6c: lists.append(try popMark()); stack.append(.list(lists.count - 1))  // LIST
            case 0x64:                                                    // DICT
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("odd number of items for DICT") }
                let d = newDict()
                for i in stride(from: 0, to: items.count, by: 2) { dicts[d].set(items[i], items[i + 1]) }
                stack.append(.dict(d))
            case 0x61:                                                    // APPEND
                let v = try pop()
                guard case .list(let l)? = stack.last else { throw fail("APPEND to a non-list") }
                lists[l].append(v)
            case 0x65:                                                    // APPENDS
                let items = try popMark()
                guard case .list(let l)? = stack.last else { throw fail("APPENDS to a non-list") }
                lists[l] += items
            case 0x73:                                                    // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d)? = stack.last else { throw fail("SETITEM on a non-dict") }
                dicts[d].set(k, v)
            case 0x75:                                                    // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("odd number of items for SETITEMS") }
                guard case .dict(let d)? = stack.last else { throw fail("SETITEMS on a non-dict") }
                for i in stride(from: 0, to: items.count, by: 2) { dicts[d].set(items[i], items[i + 1]) }
            case 0x71: try put(Int(try byte()))                           // BINPUT
            case 0x72: try put(Int(try uint(4)))                          // LONG_BINPUT
            case 0x94: try put(memo.count)                                // MEMOIZE
            case 0x68: try get(Int(try byte()))                           // BINGET
            case 0x6a: try get(Int(try uint(4)))                          // LONG_BINGET
            case 0x63:                                                    // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(try Self.allowedGlobal(module, name))
            case 0x93:                                                    // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                    throw fail("STACK_GLOBAL needs two strings")
                }
                stack.append(try Self.allowedGlobal(module, name))
            case 0x51:                                                    // BINPERSID
                stack.append(try persistentStorage(try pop()))
            case 0x52, 0x81:                                              // REDUCE, NEWOBJ
                let args = try pop(), callable = try pop()
                stack.append(try call(callable, args))
            case 0x62:                                                    // BUILD
                let state = try pop()
                guard case .dict(let target)? = stack.last else { throw fail("BUILD on a non-dict object") }
                // OrderedDict state: {'_metadata': …} (or a (dict, slots) pair).
                var attrs = state
                if case .tuple(let id) = state, tuples[id].count == 2 { attrs = tuples[id][0] }
                if case .dict(let a) = attrs { dicts[target].attributes = a } else if case .none = attrs {} else {
                    throw fail("unsupported BUILD state")
                }
            case 0x30: _ = try pop()                                      // POP
            case 0x31: _ = try popMark()                                  // POP_MARK
            case 0x32: guard let top = stack.last else { throw fail("DUP on empty stack") }; stack.append(top)
            default:
                throw fail("opcode 0x\(String(op, radix: 16)) is not allowed in a state dict")
            }
            guard stack.count <= Self.limit else { throw fail("stack deeper than \(Self.limit)") }

            func put(_ i: Int) throws(CheckpointError) {
                guard let top = stack.last else { throw fail("memo put on empty stack") }
                guard memo.count < Self.limit else { throw fail("memo larger than \(Self.limit)") }
                memo[i] = top
            }
            func get(_ i: Int) throws(CheckpointError) {
                guard let v = memo[i] else { throw fail("memo key \(i) was never set") }
                stack.append(v)
            }
        }
    }

    // MARK: Allow-list

    private static func allowedGlobal(_ module: String, _ name: String) throws(CheckpointError) -> Slot {
        switch (module, name) {
        case ("collections", "OrderedDict"),
             ("torch._utils", "_rebuild_tensor_v2"),
             ("torch._utils", "_rebuild_parameter"):
            return .global(module: module, name: name)
        case ("torch", _) where CheckpointDType(torchStorage: name) != nil:
            return .global(module: module, name: name)
        default:
            throw .forbiddenGlobal(module: module, name: name)
        }
    }

    // MARK: Reading

    private mutating func byte() throws(CheckpointError) -> UInt8 {
        guard pos < data.endIndex else { throw .truncated("pickle ends without STOP") }
        defer { pos += 1 }
        return data[pos]
    }

    private mutating func bytes(_ n: Int) throws(CheckpointError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= data.endIndex - pos else { throw .truncated("pickle field of \(n) bytes runs past the end") }
        defer { pos += n }
        return data[pos..<(pos + n)]
    }

    private mutating func uint(_ n: Int) throws(CheckpointError) -> UInt64 {
        let b = try bytes(n)
        var v: UInt64 = 0
        for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        return v
    }

    private func count(_ v: UInt64) throws(CheckpointError) -> Int {
        guard v <= UInt64(Int32.max) else { throw .tooLarge("pickle string of \(v) bytes") }
        return Int(v)
    }

    private mutating func line() throws(CheckpointError) -> String {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0a { break }
            out.append(b)
            if out.count > 256 { throw .invalidPickle(offset: pos - data.startIndex, reason: "GLOBAL name too long") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func utf8(_ b: ArraySlice<UInt8>) throws(CheckpointError) -> String {
        guard let s = String(validating: b, as: UTF8.self) else {
            throw .invalidPickle(offset: pos - data.startIndex, reason: "string is not valid UTF-8")
        }
        return s
    }

    /// LONG1: little-endian two's complement; only values that fit in Int64.
    private func long(_ b: ArraySlice<UInt8>) throws(CheckpointError) -> Slot {
        guard b.count <= 8 else { return .bigInt(Array(b)) }
        if b.isEmpty { return .int(0) }
        var v: UInt64 = 0
        for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        if b.count < 8, b.last! & 0x80 != 0 { v |= ~0 << (8 * UInt64(b.count)) }
        return .int(Int64(bitPattern: v))
    }
}
