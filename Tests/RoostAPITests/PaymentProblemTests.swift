import HTTPTypes
import RoostDomain
import RoostIntegrations
import Testing

@testable import RoostAPI

/// Errors of the money steps reach clients as problems with the right status, never as 500s.
struct PaymentProblemTests {
    @Test func ledgerAndProviderErrorsMapToClientProblems() throws {
        let conflict = try #require(Problem.from(Ledger.Rejection.paymentIs(.captured)))
        #expect(conflict.status == .conflict && conflict.code == "payment_conflict")
        let declined = try #require(Problem.from(GatewayError.declined(code: "card_declined")))
        #expect(declined.status.code == 402 && declined.code == "payment_failed")
        let down = try #require(Problem.from(GatewayError.unavailable("timeout")))
        #expect(down.status == .serviceUnavailable && down.retryAfter == 5)
        for refused: GatewayError in [.invalidState("x"), .notFound("pi_1"), .idempotencyKeyReused("k"), .invalidPaymentMethod("pm_x")] {
            let problem = try #require(Problem.from(refused))
            #expect(problem.status == .badGateway && problem.code == "payment_provider_error", "\(refused)")
        }
        #expect(Problem.paymentFailed("no").status.code == 402)
    }
}
