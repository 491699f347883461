import Foundation

/// One message of a chat.
public struct ChatMessage: Sendable, Hashable, Codable {
    /// `system`, `user` or `assistant`.
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Why a chat cannot be turned into a prompt.
public enum ChatTemplateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The GGUF file has no `tokenizer.chat_template` (a base model): chat is unsupported, plain
    /// completions still work.
    case missing(model: String)
    /// The template is none of the families this runtime renders (ChatML, Gemma); there is no
    /// Jinja engine here.
    case unsupported(excerpt: String)
    /// A special token the template's family needs is not in the vocabulary.
    case missingToken(String)
    /// A message role the family does not take.
    case unsupportedRole(String, family: String)
    /// The family's role order is not kept (Gemma: user and assistant alternate, user first).
    case roleOrder(String)
    /// No messages.
    case empty
    /// The tokenizer refused a message's text.
    case tokenizer(TokenizerError)

    public var description: String {
        switch self {
        case .missing(let model):
            return "chat is unsupported for \(model): its GGUF file has no tokenizer.chat_template (a base model); use plain completions"
        case .unsupported(let excerpt):
            return "chat is unsupported for this model's chat template (only the ChatML and Gemma families are rendered; no Jinja engine): \(excerpt)"
        case .missingToken(let t): return "the chat template needs the special token \(t), which the vocabulary lacks"
        case .unsupportedRole(let role, let family): return "message role '\(role)' is not supported by the \(family) chat template (system, user, assistant)"
        case .roleOrder(let why): return "messages out of order: \(why)"
        case .empty: return "a chat needs at least one message"
        case .tokenizer(let e): return "\(e)"
        }
    }
}

/// A chat as prompt tokens.
public struct RenderedChat: Sendable, Hashable {
    /// The prompt, ending with the assistant turn's header (the generation prompt).
    public var tokens: [Int]
    /// Tokens of the system part (the first `systemPrefixLength` tokens of `tokens`, the same for
    /// every chat with this system prompt): the prefix sessions can share. Nil when there is none.
    public var systemPrefixLength: Int?
    /// Tokens ending the assistant's turn (`<|im_end|>`, `<end_of_turn>`): generation stops there.
    public var stopTokens: Set<Int>
}

/// A GGUF chat template (`tokenizer.chat_template`, Jinja) recognised by family and rendered
/// without a Jinja engine: ChatML (`<|im_start|>role\n...<|im_end|>\n`, SmolLM2, with the default
/// system prompt the template inserts when the chat has none) and Gemma (`<start_of_turn>user\n
/// ...<end_of_turn>\n`, `model` for the assistant, a system message folded into the first user
/// turn, contents trimmed). Special tokens become their ids; the text between them is tokenized
/// piece by piece, as tokenizers that split on special tokens do.
public struct ChatTemplate: Sendable {
    public enum Family: String, Sendable {
        case chatML = "ChatML"
        case gemma = "Gemma"
    }

    public let family: Family
    /// ChatML: the system prompt the template inserts when the first message is not a system one.
    public let defaultSystemPrompt: String?
    private let tokenizer: GGUFTokenizer
    private let start: Int
    private let end: Int

    /// Recognises `template`'s family and looks its special tokens up in `tokenizer`.
    /// - Parameter model: the model's name, for the error when `template` is nil.
    /// - Throws: `ChatTemplateError.missing` (no template), `.unsupported` (another family),
    ///   `.missingToken`.
    public init(template: String?, tokenizer: GGUFTokenizer, model: String) throws(ChatTemplateError) {
        guard let template, !template.isEmpty else { throw .missing(model: model) }
        let (startText, endText): (String, String)
        if template.contains("<|im_start|>") && template.contains("<|im_end|>") {
            family = .chatML
            (startText, endText) = ("<|im_start|>", "<|im_end|>")
            defaultSystemPrompt = Self.chatMLDefaultSystem(template)
        } else if template.contains("<start_of_turn>") && template.contains("<end_of_turn>") {
            family = .gemma
            (startText, endText) = ("<start_of_turn>", "<end_of_turn>")
            defaultSystemPrompt = nil
        } else {
            let flat = template.split(whereSeparator: \.isNewline).joined(separator: " ")
            throw .unsupported(excerpt: String(flat.prefix(80)) + (flat.count > 80 ? "..." : ""))
        }
        guard let s = tokenizer.tokenID(of: startText) else { throw .missingToken(startText) }
        guard let e = tokenizer.tokenID(of: endText) else { throw .missingToken(endText) }
        self.tokenizer = tokenizer
        start = s
        end = e
    }

    /// The template of `file` (`tokenizer.chat_template`).
    public init(file: GGUFFile, tokenizer: GGUFTokenizer) throws(ChatTemplateError) {
        let template = (try? file.metadata.value("tokenizer.chat_template", as: String.self)) ?? nil
        let name = ((try? file.metadata.value("general.name", as: String.self)) ?? nil) ?? "this model"
        try self.init(template: template, tokenizer: tokenizer, model: name)
    }

    /// The prompt of `messages`, ending with the assistant's turn header.
    /// - Throws: `ChatTemplateError` for no messages, an unknown role, Gemma's order broken, text
    ///   the tokenizer refuses.
    public func render(_ messages: [ChatMessage]) throws(ChatTemplateError) -> RenderedChat {
        guard !messages.isEmpty else { throw .empty }
        for m in messages where !["system", "user", "assistant"].contains(m.role) {
            throw .unsupportedRole(m.role, family: family.rawValue)
        }
        switch family {
        case .chatML:
            do throws(TokenizerError) { return try renderChatML(messages) } catch { throw .tokenizer(error) }
        case .gemma:
            return try renderGemma(messages)
        }
    }

    private func text(_ s: String) throws(TokenizerError) -> [Int] { try tokenizer.encode(s, addingBOS: false) }

    /// `<|im_start|>role\ncontent<|im_end|>\n` per message (the default system turn first when the
    /// chat has none), then `<|im_start|>assistant\n`.
    private func renderChatML(_ messages: [ChatMessage]) throws(TokenizerError) -> RenderedChat {
        var all = messages
        if messages[0].role != "system", let d = defaultSystemPrompt { all.insert(ChatMessage(role: "system", content: d), at: 0) }
        var tokens = tokenizer.addsBOS ? [tokenizer.bosTokenID!] : []
        var prefix: Int?
        for (i, m) in all.enumerated() {
            tokens += [start] + (try text(m.role + "\n" + m.content)) + [end] + (try text("\n"))
            if i == 0 && m.role == "system" { prefix = tokens.count }
        }
        tokens += [start] + (try text("assistant\n"))
        return RenderedChat(tokens: tokens, systemPrefixLength: prefix, stopTokens: [end])
    }

    /// `<bos>`, then `<start_of_turn>user|model\n` + trimmed content + `<end_of_turn>\n` per
    /// message (a system message's content + `\n\n` opens the first user turn; with no user turn
    /// the template drops it), then `<start_of_turn>model\n`.
    private func renderGemma(_ messages: [ChatMessage]) throws(ChatTemplateError) -> RenderedChat {
        var system: String?
        var turns = messages[...]
        if messages[0].role == "system" {
            system = messages[0].content
            turns = messages.dropFirst()
        }
        for (k, m) in turns.enumerated() where (m.role == "user") != (k % 2 == 0) {
            throw .roleOrder("the Gemma template takes user and assistant turns alternately, user first (after an optional system message); message \(k + (system == nil ? 0 : 1)) is '\(m.role)'")
        }
        do throws(TokenizerError) {
            var tokens = tokenizer.bosTokenID.map { [$0] } ?? []
            var prefix: Int?
            for (k, m) in turns.enumerated() {
                tokens += [start] + (try text(m.role == "assistant" ? "model\n" : "user\n"))
                if k == 0, let system {
                    tokens += try text(system + "\n\n")
                    prefix = tokens.count
                }
                tokens += (try text(m.content.trimmingWhitespace())) + [end] + (try text("\n"))
            }
            tokens += [start] + (try text("model\n"))
            return RenderedChat(tokens: tokens, systemPrefixLength: prefix, stopTokens: [end])
        } catch {
            throw .tokenizer(error)
        }
    }

    /// The text of ChatML's inserted system turn: `'<|im_start|>system\n...<|im_end|>` in a branch
    /// taken when the first message is not a system one.
    static func chatMLDefaultSystem(_ template: String) -> String? {
        let marker = "<|im_start|>system"
        guard template.contains("!= 'system'") || template.contains("!= \"system\""),
              let open = template.range(of: marker) else { return nil }
        var rest = template[open.upperBound...]
        if rest.hasPrefix("\\n") { rest = rest.dropFirst(2) } else if rest.hasPrefix("\n") { rest = rest.dropFirst() } else { return nil }
        guard let close = rest.range(of: "<|im_end|>") else { return nil }
        let text = String(rest[..<close.lowerBound])
        // A literal, not an expression: no Jinja in it.
        guard !text.contains("{{"), !text.contains("'"), !text.contains("\"") else { return nil }
        return text.replacingOccurrences(of: "\\n", with: "\n")
    }
}

extension String {
    /// Without leading and trailing whitespace and newlines (Jinja's `trim`).
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
