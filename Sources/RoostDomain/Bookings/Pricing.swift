/// How a stay is priced: a host's pricing rules on top of the nightly price and the per-night
/// overrides, the platform's fee rates and the country's tax rate.
///
/// All amounts are in minor units of the listing's currency. Percentages are basis points
/// (1/100 of a percent). Every percentage of an amount is rounded to a whole minor unit with
/// banker's rounding (half to even), once per line: the lines then add up to the total exactly.

/// What a host sets beyond the nightly price.
public struct ListingPricing: Hashable, Sendable {
    /// The price of Friday and Saturday nights, when set (a night's own override still wins).
    public var weekendPrice: Int64?
    /// Off the nights of a stay of 7 nights or more; 0 for none.
    public var weeklyDiscountBasisPoints: Int
    /// Off the nights of a stay of 28 nights or more, instead of the weekly discount; 0 for none.
    public var monthlyDiscountBasisPoints: Int

    public init(weekendPrice: Int64? = nil, weeklyDiscountBasisPoints: Int = 0, monthlyDiscountBasisPoints: Int = 0) {
        self.weekendPrice = weekendPrice
        self.weeklyDiscountBasisPoints = weeklyDiscountBasisPoints
        self.monthlyDiscountBasisPoints = monthlyDiscountBasisPoints
    }

    public static let none = ListingPricing()

    /// The largest discount a host may set (a stay is never free).
    public static let discountMaxBasisPoints = 9_000
}

/// The platform's side: fees and the tax rate of the listing's country.
public struct PricingRates: Hashable, Sendable {
    /// Charged to the guest on nights (after discount) and cleaning.
    public var guestServiceFeeBasisPoints: Int
    /// Kept from the host's payout, on nights (after discount) and cleaning.
    public var hostFeeBasisPoints: Int
    /// Charged to the guest on nights (after discount), cleaning and the service fee.
    public var taxBasisPoints: Int

    public init(guestServiceFeeBasisPoints: Int = 1_400, hostFeeBasisPoints: Int = 300, taxBasisPoints: Int = 0) {
        self.guestServiceFeeBasisPoints = guestServiceFeeBasisPoints
        self.hostFeeBasisPoints = hostFeeBasisPoints
        self.taxBasisPoints = taxBasisPoints
    }
}

/// A stay's price, line by line, in one currency's minor units. Stored on a booking as it was
/// when booked: later edits to the listing never change it.
public struct PriceQuote: Hashable, Sendable {
    public var currency: String
    /// Each night's price, in order.
    public var nights: [Int64]
    /// The weekly or monthly discount (0 when none applies).
    public var discount: Int64
    public var cleaningFee: Int64
    public var serviceFee: Int64
    public var taxes: Int64
    /// Kept from the host's payout (not part of what the guest pays).
    public var hostFee: Int64

    public init(currency: String, nights: [Int64], discount: Int64, cleaningFee: Int64, serviceFee: Int64, taxes: Int64, hostFee: Int64) {
        self.currency = currency
        self.nights = nights
        self.discount = discount
        self.cleaningFee = cleaningFee
        self.serviceFee = serviceFee
        self.taxes = taxes
        self.hostFee = hostFee
    }

    /// The nights before any discount.
    public var nightsTotal: Int64 { nights.reduce(0, +) }
    /// The nights after the discount: what the host earns for them.
    public var nightly: Int64 { nightsTotal - discount }
    /// What the guest pays.
    public var total: Int64 { nightly + cleaningFee + serviceFee + taxes }
    /// What the host is paid: nights and cleaning, less the host fee.
    public var hostPayout: Int64 { nightly + cleaningFee - hostFee }

    /// Prices `stay` at `listing` under `rates`, each night at `ListingRecord.price(of:)`.
    public static func make(_ listing: ListingRecord, stay: Range<CalendarDay>, rates: PricingRates) -> PriceQuote {
        let details = listing.details, pricing = listing.pricing
        let nights = stay.map(listing.price(of:))
        let nightsTotal = nights.reduce(0, +)
        let discountRate = nights.count >= 28 && pricing.monthlyDiscountBasisPoints > 0
            ? pricing.monthlyDiscountBasisPoints : nights.count >= 7 ? pricing.weeklyDiscountBasisPoints : 0
        let discount = Money.percentage(nightsTotal, basisPoints: discountRate)
        let base = nightsTotal - discount + details.cleaningFee
        let serviceFee = Money.percentage(base, basisPoints: rates.guestServiceFeeBasisPoints)
        return PriceQuote(
            currency: details.currency, nights: nights, discount: discount, cleaningFee: details.cleaningFee,
            serviceFee: serviceFee, taxes: Money.percentage(base + serviceFee, basisPoints: rates.taxBasisPoints),
            hostFee: Money.percentage(base, basisPoints: rates.hostFeeBasisPoints)
        )
    }

    /// The most a quote converts to, in minor units: beyond any stay's price, and far enough inside
    /// `Int64` that the lines' sums cannot overflow. (A listing's nightly price is at most 10^12 minor
    /// units, a stay at most 365 nights: 3.65 × 10^14 in its own currency.)
    public static let convertedMax: Int64 = 1_000_000_000_000_000

    /// The same quote in another currency: each line converted by `factor` (minor units of the
    /// target per minor unit of this currency) and rounded half to even, so the lines still add up.
    /// Nil when the total would pass `convertedMax` (a very dear stay in a currency of very small
    /// units): it cannot be charged, and is not worked out.
    public func converted(to currency: String, factor: Double) -> PriceQuote? {
        guard factor.isFinite, factor > 0, Double(total) * factor <= Double(Self.convertedMax) else { return nil }
        func convert(_ amount: Int64) -> Int64 { Int64((Double(amount) * factor).rounded(.toNearestOrEven)) }
        return PriceQuote(
            currency: currency, nights: nights.map(convert), discount: convert(discount), cleaningFee: convert(cleaningFee),
            serviceFee: convert(serviceFee), taxes: convert(taxes), hostFee: convert(hostFee)
        )
    }
}

public enum Money {
    /// `amount × part / whole`, rounded half to even (double-width product; `whole` > 0, all ≥ 0).
    public static func proportion(_ amount: Int64, _ part: Int64, of whole: Int64) -> Int64 {
        precondition(whole > 0)
        let (quotient, remainder) = whole.dividingFullWidth(amount.multipliedFullWidth(by: part))
        let twice = remainder.magnitude * 2
        if twice > whole.magnitude || (twice == whole.magnitude && quotient % 2 != 0) { return quotient + 1 }
        return quotient
    }

    /// `amount × basisPoints / 10,000`, rounded half to even (exact for any `Int64` amount: the
    /// product is taken at double width; a negative amount rounds as its magnitude does).
    public static func percentage(_ amount: Int64, basisPoints: Int) -> Int64 {
        if amount < 0 { return -percentage(-amount, basisPoints: basisPoints) }
        if basisPoints < 0 { return -percentage(amount, basisPoints: -basisPoints) }
        let product = amount.multipliedFullWidth(by: Int64(basisPoints))
        let (quotient, remainder) = Int64(10_000).dividingFullWidth(product)
        let twice = remainder * 2
        if twice > 10_000 || (twice == 10_000 && quotient % 2 != 0) { return quotient + 1 }
        return quotient
    }
}

extension CalendarDay {
    /// Friday and Saturday nights.
    public var isWeekendNight: Bool { weekday == 4 || weekday == 5 }  // 0 is Monday
}
