import Foundation
import Testing
@testable import KVPackServer

@Suite("API errors")
struct APIErrorTests {
    @Test("the JSON body has OpenAI's error object")
    func json() throws {
        let e = APIError(status: 400, code: "unknown_field", message: "unknown field 'foo'", param: "foo")
        let object = try JSONSerialization.jsonObject(with: e.json) as? [String: [String: Any]]
        #expect(object?["error"]?["message"] as? String == "unknown field 'foo'")
        #expect(object?["error"]?["type"] as? String == "invalid_request_error")
        #expect(object?["error"]?["param"] as? String == "foo")
        #expect(object?["error"]?["code"] as? String == "unknown_field")
    }
}

@Suite("Server-sent events")
struct ServerSentEventReaderTests {
    @Test("payloads come out once their event is complete, whatever the cuts")
    func cuts() {
        var r = ServerSentEventReader()
        #expect(r.feed("data: {\"a\"") == [])
        #expect(r.feed(":1}\n") == [])
        #expect(r.feed("\ndata: [DO") == ["{\"a\":1}"])
        #expect(r.feed("NE]\n\n: comment\n\ndata: x\n\ndata: y") == ["[DONE]", "x"])
        #expect(r.remainder == "data: y")
    }
}
