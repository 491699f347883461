/// Tolerance helpers: bounds that a NaN cannot pass (a NaN compares false everywhere, so a plain
/// `max` or `<` would hide it).

/// `|x − reference| / max(floor, |reference|)`: relative error that turns absolute below `floor`;
/// infinity when either is NaN.
public func relativeError(_ x: Double, _ reference: Double, floor: Double = 1) -> Double {
    guard !x.isNaN, !reference.isNaN else { return .infinity }
    if x == reference { return 0 } // equal infinities
    return abs(x - reference) / max(floor, abs(reference))
}

/// Whether `x` is within `relative` of `reference` (absolute below `floor`; see `relativeError`).
public func isClose(_ x: Double, _ reference: Double, relative: Double, floor: Double = 1) -> Bool {
    relativeError(x, reference, floor: floor) <= relative
}

/// Largest `|a[i] − b[i]|`; infinity when the lengths differ or either side holds a NaN.
public func maxAbsoluteDifference<A: Collection, B: Collection>(_ a: A, _ b: B) -> Double
where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    guard a.count == b.count else { return .infinity }
    var worst = 0.0
    for (x, y) in zip(a, b) {
        let d = abs(Double(x) - Double(y))
        guard !d.isNaN else { return .infinity }
        worst = max(worst, d)
    }
    return worst
}
