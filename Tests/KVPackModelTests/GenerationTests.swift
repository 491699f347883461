import Foundation
import KVPackModel
import Testing

/// Sampling, streaming detokenization, stop strings and chat templates, on hand-worked cases.
@Suite("Generation")
struct GenerationTests {
    static func logits(_ values: [Float]) -> ArraySlice<Float> { values[...] }

    /// Draw frequencies of `draws` tokens.
    static func frequencies(_ parameters: SamplingParameters, _ logits: [Float], draws: Int = 20_000) throws -> [Double] {
        var sampler = try TokenSampler(parameters)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws { counts[sampler.next(logits[...])] += 1 }
        return counts.map { Double($0) / Double(draws) }
    }

    @Test("temperature 0 is greedy, the lowest id winning ties")
    func greedy() throws {
        var s = try TokenSampler(.greedy)
        #expect(s.next(Self.logits([1, 3, 3, 2])) == 1)
        #expect(s.next(Self.logits([.nan, -1, -2])) == 1)
    }

    @Test("temperature sampling draws softmax(logits / T)")
    func temperature() throws {
        // logits 0, ln 2, ln 4: probabilities 1/7, 2/7, 4/7 at T = 1; at T = 2, ∝ 1, √2, 2.
        let l: [Float] = [0, Float(log(2.0)), Float(log(4.0))]
        let f1 = try Self.frequencies(SamplingParameters(temperature: 1, seed: 1), l)
        for (f, p) in zip(f1, [1.0 / 7, 2.0 / 7, 4.0 / 7]) { #expect(abs(f - p) < 0.015, "\(f1)") }
        let z = 1 + 2.0.squareRoot() + 2
        let f2 = try Self.frequencies(SamplingParameters(temperature: 2, seed: 2), l)
        for (f, p) in zip(f2, [1 / z, 2.0.squareRoot() / z, 2 / z]) { #expect(abs(f - p) < 0.015, "\(f2)") }
    }

    @Test("top_p keeps the most likely tokens whose share reaches it")
    func topP() throws {
        let l: [Float] = [0, Float(log(2.0)), Float(log(4.0))]
        // 4/7 = 0.571 >= 0.5: token 2 alone.
        #expect(try Self.frequencies(SamplingParameters(temperature: 1, topP: 0.5, seed: 3), l, draws: 2000) == [0, 0, 1])
        // 0.6 needs tokens 2 and 1 (6/7), renormalized to 2/3 and 1/3; token 0 never.
        let f = try Self.frequencies(SamplingParameters(temperature: 1, topP: 0.6, seed: 4), l)
        #expect(f[0] == 0 && abs(f[1] - 1.0 / 3) < 0.015 && abs(f[2] - 2.0 / 3) < 0.015, "\(f)")
    }

    @Test("a seed reproduces the draws; bad settings are refused")
    func seeds() throws {
        let l = (0..<50).map { Float($0 % 7) * 0.3 }
        func draws(_ seed: UInt64) throws -> [Int] {
            var s = try TokenSampler(SamplingParameters(temperature: 0.8, topP: 0.9, seed: seed))
            return (0..<64).map { _ in s.next(l[...]) }
        }
        #expect(try draws(7) == draws(7))
        #expect(try draws(7) != draws(8))
        #expect(throws: GenerationError.invalidTemperature(-1)) { try TokenSampler(SamplingParameters(temperature: -1)) }
        #expect(throws: GenerationError.invalidTopP(0)) { try TokenSampler(SamplingParameters(topP: 0)) }
        #expect(throws: GenerationError.invalidTopP(1.5)) { try TokenSampler(SamplingParameters(topP: 1.5)) }
    }

    @Test("streaming detokenization never cuts a character and joins to the whole decode")
    func detokenizer() throws {
        // Byte-level tokens one byte each: 🙂 is F0 9F 99 82, é is C3 A9 (token id = byte).
        let tiny = try GGUFFile(bytes: TinyVocabularies.gpt2().bytes()).tokenizer()
        var d = IncrementalDetokenizer(tokenizer: tiny)
        var out: [String] = []
        for byte in [0xF0, 0x9F, 0x99, 0x82, 0x61, 0xC3] { out.append(try d.append(byte)) }
        #expect(out == ["", "", "", "🙂", "a", ""])
        #expect(d.finish() == "\u{FFFD}", "an unfinished character at the end is U+FFFD")
        // A lead byte followed by ASCII can never complete: both come out, the lead as U+FFFD.
        out = [try d.append(0xE2), try d.append(0x41)]
        #expect(out == ["", "\u{FFFD}A"])

        let smol = try ModelFiles.file(.smollm2).tokenizer()
        let text = "Naïve café — 🙂 résumé, 東京 and emoji 👍🏽!"
        let ids = try smol.encode(text)
        var stream = IncrementalDetokenizer(tokenizer: smol), pieces: [String] = []
        for id in ids { pieces.append(try stream.append(id)) }
        pieces.append(stream.finish())
        #expect(pieces.joined() == text)
        #expect(try pieces.joined() == smol.decode(ids))
        #expect(!pieces.contains { $0.contains("\u{FFFD}") })
    }

    /// What `feed` emits, "|stop" appended when a stop string was met.
    static func feed(_ m: inout StopMatcher, _ text: String) -> String {
        let (emit, stopped) = m.feed(text)
        return emit + (stopped ? "|stop" : "")
    }

    @Test("stop strings: text that may start one is held back; the first one ends the output without it")
    func stopStrings() {
        var m = StopMatcher(["END", "\n\n"])
        #expect(Self.feed(&m, "Hello E") == "Hello ")
        #expect(Self.feed(&m, "N") == "")
        #expect(Self.feed(&m, "X") == "ENX")
        #expect(Self.feed(&m, "abc\n") == "abc")
        #expect(Self.feed(&m, "\nmore") == "|stop")
        #expect(Self.feed(&m, "after") == "|stop")

        var earliest = StopMatcher(["bc", "abcd"])
        // "abcd" starts at 1, before "bc" at 2.
        #expect(Self.feed(&earliest, "xabcd") == "x|stop")
        var tail = StopMatcher(["STOP"])
        #expect(Self.feed(&tail, "the ST") == "the ")
        #expect(tail.flush() == "ST", "a partial stop string at the end is text")
        var none = StopMatcher([""])
        #expect(Self.feed(&none, "abc") == "abc")
    }

    /// Gemma-3's chat template (the instruction-tuned models'; the shipped base model has none).
    static let gemmaTemplate = """
        {{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\
        {%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first_user_prefix = "" -%}{%- set loop_messages = messages -%}{%- endif -%}\
        {%- for message in loop_messages -%}{%- if (message['role'] == 'assistant') -%}{%- set role = "model" -%}{%- else -%}\
        {%- set role = message['role'] -%}{%- endif -%}{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}\
        {{ message['content'] | trim }}{{ '<end_of_turn>\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{'<start_of_turn>model\n'}}{%- endif -%}
        """

    @Test("ChatML (SmolLM2): im_start/im_end as special tokens, the template's default system prompt, the system prefix")
    func chatML() throws {
        let file = try ModelFiles.file(.smollm2)
        let tok = try file.tokenizer()
        let chat = try ChatTemplate(file: file, tokenizer: tok)
        #expect(chat.family == .chatML)
        #expect(chat.defaultSystemPrompt == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        func t(_ s: String) throws -> [Int] { try tok.encode(s, addingBOS: false) }
        // <|im_start|> is id 1, <|im_end|> id 2 in SmolLM2's vocabulary.
        let system = [1] + (try t("system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face")) + [2] + (try t("\n"))
        let r = try chat.render([ChatMessage(role: "user", content: "Hi there")])
        #expect(r.tokens == system + [1] + (try t("user\nHi there")) + [2] + (try t("\n")) + [1] + (try t("assistant\n")))
        #expect(r.systemPrefixLength == system.count)
        #expect(r.stopTokens == [2])
        let own = try chat.render([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")])
        #expect(Array(own.tokens.prefix(4)) == [1] + (try t("system\nBe brief.")).prefix(3))
        #expect(own.tokens.filter { $0 == 1 }.count == 3, "system, user, assistant turns")
        #expect(throws: ChatTemplateError.unsupportedRole("tool", family: "ChatML")) { try chat.render([ChatMessage(role: "tool", content: "x")]) }
        #expect(throws: ChatTemplateError.empty) { try chat.render([]) }
    }

    @Test("Gemma: BOS, user/model turns, the system message opening the first user turn; no template or another family is refused")
    func gemma() throws {
        let file = try ModelFiles.file(.gemma3_270m)
        let tok = try file.tokenizer()
        #expect(throws: ChatTemplateError.missing(model: "Gemma 3 270m")) { try ChatTemplate(file: file, tokenizer: tok) }
        let chat = try ChatTemplate(template: Self.gemmaTemplate, tokenizer: tok, model: "gemma")
        #expect(chat.family == .gemma)
        func t(_ s: String) throws -> [Int] { try tok.encode(s, addingBOS: false) }
        // <bos> 2, <start_of_turn> 105, <end_of_turn> 106.
        let r = try chat.render([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "  Hi there \n"),
                                 ChatMessage(role: "assistant", content: "Four."), ChatMessage(role: "user", content: "And 3+3?")])
        let prefix = [2, 105] + (try t("user\n")) + (try t("Be brief.\n\n"))
        let expected = prefix + (try t("Hi there")) + [106] + (try t("\n")) + [105] + (try t("model\n")) + (try t("Four.")) + [106] + (try t("\n"))
            + [105] + (try t("user\n")) + (try t("And 3+3?")) + [106] + (try t("\n")) + [105] + (try t("model\n"))
        #expect(r.tokens == expected)
        #expect(r.systemPrefixLength == prefix.count)
        #expect(r.stopTokens == [106])
        do { _ = try chat.render([ChatMessage(role: "assistant", content: "x")]); Issue.record("assistant first accepted") } catch {
            guard case .roleOrder = error else { Issue.record("\(error)"); return }
        }
        do {
            _ = try ChatTemplate(template: "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}", tokenizer: tok, model: "x")
            Issue.record("a Llama-2 template accepted")
        } catch {
            guard case .unsupported(let excerpt) = error else { Issue.record("\(error)"); return }
            #expect(excerpt.hasPrefix("{% for m in messages %}[INST]"))
            #expect("\(error)".contains("chat is unsupported"))
        }
    }
}
