import Foundation

/// Rows of cells as padded terminal columns: the first column left-aligned, the others
/// right-aligned, a rule under the header. A row of two cells where the header has more (a failed
/// run: its name and why) prints its second cell across the other columns, which it does not widen.
enum TerminalTable {
    static func render(header: [String], rows: [[String]]) -> String {
        let rows = [header] + rows
        let measured = rows.filter { $0.count == header.count }
        let widths = header.indices.map { i in (i == 0 ? rows : measured).map { $0[i].count }.max()! }
        var out = ""
        for (k, row) in rows.enumerated() {
            let line = row.count == header.count
                ? row.enumerated().map { i, cell in
                    i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                           : String(repeating: " ", count: widths[i] - cell.count) + cell
                }.joined(separator: "  ")
                : row[0].padding(toLength: widths[0], withPad: " ", startingAt: 0) + "  " + row[1]
            out += "  " + line + "\n"
            if k == 0 { out += "  " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return out
    }
}

